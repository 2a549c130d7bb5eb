// Amazon S3 Files' metadata keys, against FolderStore and Ceph RGW: objects shaped exactly as
// S3 Files documents them (x-amz-meta-file-owner / -file-group integers, -file-permissions the
// octal st_mode with type bits, a directory's on its zero-byte "dir/" marker, none at all:
// root:root 0644 / 0755) are imported with that owner and mode; an export in the `s3files`
// style writes exactly those keys (plus FSx's file-mtime and our upload token), also for a
// chmod, replacing s3fs's; another export, in the s3fs style, reads them back.
import assert from 'node:assert/strict';
import type { ObjectStore } from '../../pkg/s3/object-store';
import { UPLOAD_TOKEN } from '../../pkg/reconcile/object-meta';
import { forBothStores, type StoreSetup } from '../support/both-stores';
import { ROOT, linkedExport, mkdirs, resolve, uniquePrefix, writeFile, type TestExport } from '../support/linked-fs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const S3FILES_KEYS = ['file-group', 'file-mtime', 'file-owner', 'file-permissions', UPLOAD_TOKEN].sort();

function s3filesMetadataSuite(name: string, setup: () => Promise<StoreSetup>): void {
  describe(`Amazon S3 Files metadata keys (${name})`, function () {
    this.timeout(120_000);
    let store: ObjectStore;
    let cleanup: () => Promise<void>;
    let prefix = '';
    const open: TestExport[] = [];
    const link = async (extra: Parameters<typeof linkedExport>[2] = {}) => {
      const t = await linkedExport(store, prefix, extra);
      open.push(t);
      return t;
    };
    const attrs = async (t: TestExport, p: string) => {
      const a = await t.fs.getattr(await resolve(t.fs, p));
      return [a.type, a.mode.toString(8), a.uid, a.gid];
    };

    before(async () => ({ store, cleanup } = await setup()));
    beforeEach(function () {
      prefix = uniquePrefix(this.currentTest?.title.slice(0, 20).replace(/[^a-z0-9]+/gi, '-') ?? 't');
    });
    afterEach(async () => {
      for (const t of open.splice(0)) await t.cleanup();
    });
    after(async () => cleanup?.());

    for (const style of ['s3fs', 's3files'] as const) {
      it(`objects written by S3 Files show their owner and mode (export style ${style})`, async () => {
        await store.put(`${prefix}owned.txt`, Buffer.from('x'), { metadata: { 'file-owner': '1000', 'file-group': '1001', 'file-permissions': '0100640' } });
        await store.put(`${prefix}dir/`, Buffer.alloc(0), { metadata: { 'file-owner': '1002', 'file-group': '1003', 'file-permissions': '0040750' }, contentType: 'application/x-directory' });
        await store.put(`${prefix}dir/exec.sh`, Buffer.from('#!/bin/sh\n'), { metadata: { 'file-owner': '0', 'file-group': '0', 'file-permissions': '0100755' } });
        await store.put(`${prefix}plain.bin`, Buffer.from('no metadata'));
        await store.put(`${prefix}implicit/inner`, Buffer.from('i'));
        const t = await link({ metadataStyle: style });
        assert.deepEqual(await attrs(t, 'owned.txt'), ['file', '640', 1000, 1001]);
        assert.deepEqual(await attrs(t, 'dir'), ['dir', '750', 1002, 1003]);
        assert.deepEqual(await attrs(t, 'dir/exec.sh'), ['file', '755', 0, 0]);
        assert.deepEqual(await attrs(t, 'plain.bin'), ['file', '644', 0, 0]);
        assert.deepEqual(await attrs(t, 'implicit'), ['dir', '755', 0, 0]);
      });
    }

    it('the s3files style writes exactly S3 Files keys; an s3fs-style export reads them back', async () => {
      const t = await link({ metadataStyle: 's3files' });
      const d = await mkdirs(t.fs, 'sub', 0o750);
      await t.fs.setattr(ROOT, d, { uid: 1000, gid: 1000 });
      const f = await writeFile(t.fs, 'sub/data.txt', Buffer.from('hello'), 0o600);
      await t.fs.setattr(ROOT, f, { uid: 1001, gid: 1002, mtime: { sec: 1700000000, nsec: 5 } });
      await t.fs.symlink(ROOT, t.fs.rootIno, 'link', 'sub/data.txt', { mode: 0o777 });
      await t.reconciler.drain();
      const file = await store.head(`${prefix}sub/data.txt`);
      assert.deepEqual(Object.keys(file.metadata).sort(), S3FILES_KEYS);
      assert.equal(file.metadata['file-owner'], '1001');
      assert.equal(file.metadata['file-group'], '1002');
      assert.equal(file.metadata['file-permissions'], '0100600');
      assert.equal(file.metadata['file-mtime'], '1700000000000000005ns');
      const marker = await store.head(`${prefix}sub/`);
      assert.deepEqual(Object.keys(marker.metadata).filter((k) => k !== UPLOAD_TOKEN).sort(), ['file-group', 'file-mtime', 'file-owner', 'file-permissions']);
      assert.equal(marker.metadata['file-permissions'], '0040750');
      assert.equal(marker.metadata['file-owner'], '1000');
      assert.equal((await store.head(`${prefix}link`)).metadata['file-permissions'], '0120777');

      const other = await link({ metadataStyle: 's3fs' });
      assert.deepEqual(await attrs(other, 'sub'), ['dir', '750', 1000, 1000]);
      assert.deepEqual(await attrs(other, 'sub/data.txt'), ['file', '600', 1001, 1002]);
      assert.equal((await other.fs.getattr(await resolve(other.fs, 'sub/data.txt'))).mtime.sec, 1700000000);
      assert.equal((await other.fs.getattr(await resolve(other.fs, 'link'))).type, 'symlink');
    });

    it('a chmod in the s3files style replaces s3fs keys with S3 Files keys', async () => {
      await store.put(`${prefix}old.txt`, Buffer.from('old'), { metadata: { mode: '33188', uid: '5', gid: '6', mtime: '1600000000' } });
      const t = await link({ metadataStyle: 's3files' });
      const ino = await resolve(t.fs, 'old.txt');
      assert.deepEqual(await attrs(t, 'old.txt'), ['file', '644', 5, 6]);
      await t.fs.setattr(ROOT, ino, { mode: 0o640 });
      await t.reconciler.drain();
      const head = await store.head(`${prefix}old.txt`);
      assert.deepEqual(Object.keys(head.metadata).sort(), S3FILES_KEYS);
      assert.deepEqual([head.metadata['file-permissions'], head.metadata['file-owner'], head.metadata['file-group']], ['0100640', '5', '6']);
      assert.equal((await store.getBuffer(`${prefix}old.txt`)).data.toString(), 'old');
    });

    it('the both style writes both sets, equal', async () => {
      const t = await link({ metadataStyle: 'both' });
      await writeFile(t.fs, 'b.txt', Buffer.from('b'), 0o640);
      await t.reconciler.drain();
      const m = (await store.head(`${prefix}b.txt`)).metadata;
      assert.equal(m.mode, String(0o100640));
      assert.equal(m['file-permissions'], '0100640');
      assert.equal(m.uid, m['file-owner']);
      assert.equal(m.gid, m['file-group']);
    });
  });
}

forBothStores('s3files-meta', s3filesMetadataSuite);
