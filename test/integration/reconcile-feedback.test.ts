// What the user is told about sync against both object stores (FolderStore, and S3Store on
// Ceph RGW): conflicts (where the local version is kept, who may reach it, what the log and
// `s3files status` say), keys too long for S3, and uploads in progress.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { exportFileStatus, describeFileStatus, type FileStatusBody } from '../../cmd/status';
import { metrics } from '../../pkg/metrics/registry';
import { registerExportSync } from '../../pkg/metrics/sync-metrics';
import type { ObjectStore } from '../../pkg/s3/object-store';
import type { Credentials } from '../../pkg/vfs';
import { forBothStores, type StoreSetup } from '../support/both-stores';
import { ROOT, bucketKeys, linkedExport, listNames, mkdirs, objectBytes, readFile, resolve, uniquePrefix, writeFile, type TestExport } from '../support/linked-fs';
import { captureLogger } from '../support/rpc-test-program';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ALICE: Credentials = { uid: 1000, gid: 1000, gids: [] };
const BOB: Credentials = { uid: 2000, gid: 2000, gids: [] };
const LF = '.s3files-lost+found';
const MiB = 1024 * 1024;
/** mode metadata: a 0700 directory and a 0600 file. */
const PRIVATE_DIR = { mode: String(0o40700), uid: '1000', gid: '1000' };
const PRIVATE_FILE = { mode: String(0o100600), uid: '1000', gid: '1000' };

/** The inode at `p`, looked up as `cred` (so permissions on the way count). */
async function resolveAs(t: TestExport, cred: Credentials, p: string): Promise<number> {
  let ino = t.fs.rootIno;
  for (const name of p.split('/').filter(Boolean)) ino = (await t.fs.lookup(cred, ino, name)).ino;
  return ino;
}

export function feedbackSuite(name: string, setup: () => Promise<StoreSetup>): void {
  describe(`sync feedback: ${name}`, function () {
    this.timeout(60_000);
    let ctx: StoreSetup;
    let prefix = '';
    const open: TestExport[] = [];
    const link = async (extra: Parameters<typeof linkedExport>[2] = {}, store = ctx.store): Promise<TestExport> => {
      const t = await linkedExport(store, prefix, extra);
      open.push(t);
      return t;
    };
    before(async () => {
      ctx = await setup();
    });
    beforeEach(function () {
      prefix = uniquePrefix(this.currentTest?.title.slice(0, 20).replace(/[^a-z0-9]+/gi, '-') ?? 't');
    });
    afterEach(async () => {
      for (const t of open.splice(0)) await t.cleanup();
    });
    after(async () => ctx && ctx.cleanup());

    it('conflict: the local version is kept at lost+found/<UTC time>/<its path>, with its owner, reachable by whoever could reach it', async () => {
      await ctx.store.put(`${prefix}a/`, Buffer.alloc(0), { metadata: PRIVATE_DIR });
      await ctx.store.put(`${prefix}a/b.txt`, Buffer.from('original'), { metadata: PRIVATE_FILE });
      const t = await link({ syncDelayMs: 500 });
      await t.fs.write(ALICE, await resolveAs(t, ALICE, 'a/b.txt'), 0, Buffer.from('LOCAL EDIT'), 'file-sync');
      await ctx.store.put(`${prefix}a/b.txt`, Buffer.from('remote edit wins'), { metadata: PRIVATE_FILE });
      await t.reconciler.drain();
      assert.equal((await objectBytes(ctx.store, `${prefix}a/b.txt`)).toString(), 'remote edit wins');
      const lf = await t.fs.getattr(await resolve(t.fs, LF));
      assert.equal(lf.mode, 0o1777, 'lost+found: anyone may enter, only owners remove (sticky)');
      const [stamp, ...more] = await listNames(t.fs, LF);
      assert.deepEqual(more, []);
      assert.match(stamp!, /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/);
      const kept = `${LF}/${stamp}/a/b.txt`;
      assert.equal((await readFile(t.fs, kept)).toString(), 'LOCAL EDIT');
      const keptIno = await resolveAs(t, ALICE, kept);
      const attrs = await t.fs.getattr(keptIno);
      assert.deepEqual([attrs.uid, attrs.mode], [1000, 0o600], 'the kept copy keeps its owner and mode');
      assert.equal((await t.fs.read(ALICE, keptIno, 0, 100)).data.toString(), 'LOCAL EDIT');
      const mirror = await t.fs.getattr(await resolve(t.fs, `${LF}/${stamp}/a`));
      assert.deepEqual([mirror.uid, mirror.mode], [1000, 0o700], 'the mirrored directory has the owner and mode of a/');
      await assert.rejects(resolveAs(t, BOB, kept), { code: 'EACCES' });
      // Local only: never pending, not even after its owner changes it.
      assert.equal(t.reconciler.status().pendingFiles, 0);
      await t.fs.write(ALICE, keptIno, 0, Buffer.from('local edit, again'), 'file-sync');
      assert.equal(t.reconciler.status().pendingFiles, 0, 'a change in lost+found is not an upload to do');
      const st = (await exportFileStatus(t, kept)) as FileStatusBody;
      assert.deepEqual([st.pending, st.inBucket, st.lostFound, st.bucketKey], [false, false, true, undefined]);
      assert.deepEqual(describeFileStatus(`/mnt/${kept}`, st), {
        line: `/mnt/${kept}: local only, kept after a conflict (never uploaded; copy it elsewhere in the volume to upload it)`,
        exitCode: 4,
      });
      // Its owner takes it back: moved out of lost+found, it is uploaded like any file.
      await t.fs.rename(ALICE, await resolveAs(t, ALICE, `${LF}/${stamp}/a`), 'b.txt', await resolveAs(t, ALICE, 'a'), 'b-mine.txt');
      await t.reconciler.drain();
      assert.equal((await objectBytes(ctx.store, `${prefix}a/b-mine.txt`)).toString(), 'local edit, again');
    });

    it('conflict: a local edit of an object deleted in the bucket says "deleted in the bucket"', async () => {
      const { logger, entries } = captureLogger();
      await ctx.store.put(`${prefix}gone.txt`, Buffer.from('original'));
      const t = await link({ syncDelayMs: 500, logger });
      await t.fs.write(ROOT, await resolve(t.fs, 'gone.txt'), 0, Buffer.from('LOCAL EDIT'), 'file-sync');
      await ctx.store.delete(`${prefix}gone.txt`);
      await t.reconciler.drain();
      const warned = entries.filter((e) => String(e.message).startsWith('conflict:'));
      assert.deepEqual(warned.map((e) => e.message), ['conflict: the object was deleted in the bucket; the deletion wins, the local version is kept in lost+found']);
      const [stamp] = await listNames(t.fs, LF);
      assert.equal(warned[0]!.keptAs, `${LF}/${stamp}/gone.txt`);
      assert.equal((await readFile(t.fs, `${LF}/${stamp}/gone.txt`)).toString(), 'LOCAL EDIT');
    });

    it('conflict: an object changed in the bucket says "changed in the bucket"', async () => {
      const { logger, entries } = captureLogger();
      await ctx.store.put(`${prefix}doc.txt`, Buffer.from('original'));
      const t = await link({ syncDelayMs: 500, logger });
      await t.fs.write(ROOT, await resolve(t.fs, 'doc.txt'), 0, Buffer.from('LOCAL EDIT'), 'file-sync');
      await ctx.store.put(`${prefix}doc.txt`, Buffer.from('theirs'));
      await t.reconciler.drain();
      const warned = entries.filter((e) => String(e.message).startsWith('conflict:')).map((e) => e.message);
      assert.deepEqual(warned, ['conflict: the object changed in the bucket; the bucket version wins, the local version is kept in lost+found']);
    });

    it('PathTooLong: a file whose key would pass 1,024 bytes works locally, is recorded once (not retried), shown, and uploaded once a rename makes it fit', async () => {
      const { logger, entries } = captureLogger();
      const t = await link({ syncDelayMs: 50, logger });
      const dirs = ['a', 'b', 'c', 'd'].map((c) => c.repeat(200)).join('/');
      const dir = await mkdirs(t.fs, dirs);
      const longName = 'f'.repeat(250);
      const ino = await writeFile(t.fs, `${dirs}/${longName}`, Buffer.from('deep data'));
      await t.reconciler.drain(20_000); // returns: nothing left to retry
      await t.fs.write(ROOT, ino, 0, Buffer.from('DEEP'), 'file-sync'); // a change of it is not retried either
      await t.reconciler.drain(20_000);
      assert.equal((await readFile(t.fs, `${dirs}/${longName}`)).toString(), 'DEEP data');
      const keys = [...(await bucketKeys(ctx.store, prefix)).keys()];
      assert.deepEqual(keys.filter((k) => k.includes('ffff')), [], 'nothing uploaded under the long key');
      assert.equal(keys.length, 4, `the four directory markers: ${keys.map((k) => k.length).join(',')}`);
      const keyBytes = Buffer.byteLength(`${prefix}${dirs}/${longName}`);
      const warned = entries.filter((e) => String(e.message).startsWith('path too long'));
      assert.deepEqual(warned.map((e) => [e.message, e.keyBytes]), [
        ['path too long for S3: a file stays on this node only until it or a directory above it is renamed to a shorter path', keyBytes],
      ]);
      assert.equal(entries.filter((e) => e.message === 'sync job failed; will retry').length, 0);
      const st = t.reconciler.status();
      assert.deepEqual([st.pendingFiles, st.unsyncable, st.unsyncableFiles.map((u) => [u.keyBytes, u.reason])], [0, 1, [[keyBytes, 'PathTooLong']]]);
      const body = (await exportFileStatus(t, `${dirs}/${longName}`)) as FileStatusBody;
      assert.deepEqual(describeFileStatus('/mnt/x', body), {
        line: `/mnt/x: not in the bucket: its key would be ${keyBytes} bytes, over S3's limit of 1024 (PathTooLong); rename it or a directory above it to a shorter path`,
        exitCode: 5,
      });
      const unregister = registerExportSync('feedback-too-long', { status: () => t.reconciler.status() as never, counters: () => t.fs.sync!.counters() });
      try {
        assert.match(await metrics().registry.metrics(), /s3files_sync_unsyncable_files\{export="feedback-too-long"\} 1\n/);
      } finally {
        unregister();
      }
      // Renamed to fit: uploaded, the record gone.
      await t.fs.rename(ROOT, dir, longName, dir, 'short.txt');
      await t.reconciler.drain(20_000);
      assert.equal((await objectBytes(ctx.store, `${prefix}${dirs}/short.txt`)).toString(), 'DEEP data');
      assert.equal(t.reconciler.status().unsyncable, 0);
    });

    it('PathTooLong: a directory, and files under a directory renamed so that their keys pass the limit; renamed back, all is uploaded', async () => {
      const { logger, entries } = captureLogger();
      const t = await link({ syncDelayMs: 50, logger });
      const base = ['a', 'b', 'c'].map((c) => c.repeat(250)).join('/');
      await mkdirs(t.fs, base);
      await mkdirs(t.fs, 'top/subdirectory');
      await writeFile(t.fs, 'top/subdirectory/file.txt', Buffer.from('moved too far'));
      await t.reconciler.drain(20_000);
      assert.equal((await objectBytes(ctx.store, `${prefix}top/subdirectory/file.txt`)).toString(), 'moved too far');
      // top/ → <base>/<250 × t>/: its own marker fits (~1,010 bytes), subdirectory/ and its file do not.
      const baseIno = await resolve(t.fs, base);
      const longTop = 't'.repeat(1015 - Buffer.byteLength(`${prefix}${base}/`) - 1);
      await t.fs.rename(ROOT, t.fs.rootIno, 'top', baseIno, longTop);
      await t.reconciler.drain(20_000);
      const keys = [...(await bucketKeys(ctx.store, prefix)).keys()].sort();
      assert.deepEqual(keys, [`${base.split('/')[0]}/`, `${base.split('/').slice(0, 2).join('/')}/`, `${base}/`, `${base}/${longTop}/`].sort(), 'old keys deleted, nothing too long written');
      assert.equal((await readFile(t.fs, `${base}/${longTop}/subdirectory/file.txt`)).toString(), 'moved too far', 'the data stays whole on the node');
      assert.equal(t.reconciler.status().unsyncable, 2);
      assert.equal(entries.filter((e) => String(e.message).startsWith('path too long')).length, 2);
      // A new directory deeper still is recorded too.
      await t.fs.mkdir(ROOT, await resolve(t.fs, `${base}/${longTop}/subdirectory`), 'deeper', { mode: 0o755 });
      await t.reconciler.drain(20_000);
      assert.equal(t.reconciler.status().unsyncable, 3);
      // Renamed back to a short name: everything under it goes up again.
      await t.fs.rename(ROOT, baseIno, longTop, t.fs.rootIno, 'back');
      for (let i = 0; i < 100 && t.reconciler.status().unsyncable > 0; i++) await new Promise((r) => setTimeout(r, 100));
      await t.reconciler.drain(20_000);
      assert.equal(t.reconciler.status().unsyncable, 0);
      assert.equal((await objectBytes(ctx.store, `${prefix}back/subdirectory/file.txt`)).toString(), 'moved too far');
      assert.ok((await bucketKeys(ctx.store, prefix)).has(`back/subdirectory/deeper/`));
    });

    it('progress: an upload in flight shows its bytes in /status and the metrics, part by part, while it runs', async () => {
      const held = deferred();
      let parts = 0;
      const gated = new Proxy(ctx.store, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target) as unknown;
          if (prop !== 'uploadPart') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          return async (...args: Parameters<ObjectStore['uploadPart']>) => {
            if (++parts === 2) await held.promise;
            return target.uploadPart(...args);
          };
        },
      });
      const t = await link({ syncDelayMs: 50, reconciler: { tuning: { multipartThreshold: 5 * MiB, partSize: 5 * MiB, partConcurrency: 1 } } }, gated);
      const unregister = registerExportSync('feedback-progress', { status: () => t.reconciler.status() as never, counters: () => t.fs.sync!.counters() });
      try {
        await writeFile(t.fs, 'big.bin', randomBytes(12 * MiB));
        for (let i = 0; i < 600 && parts < 2; i++) await new Promise((r) => setTimeout(r, 50));
        const [u, ...others] = t.reconciler.status().uploading;
        assert.deepEqual(others, []);
        assert.deepEqual([u?.key, u?.size, u?.doneBytes], ['big.bin', 12 * MiB, 5 * MiB]);
        const text = await metrics().registry.metrics();
        assert.match(text, /s3files_sync_uploading_files\{export="feedback-progress"\} 1\n/);
        assert.match(text, new RegExp(`s3files_sync_uploading_bytes\\{export="feedback-progress"\\} ${12 * MiB}\n`));
        assert.match(text, new RegExp(`s3files_sync_uploading_done_bytes\\{export="feedback-progress"\\} ${5 * MiB}\n`));
        held.resolve();
        await t.reconciler.drain();
        assert.deepEqual(t.reconciler.status().uploading, []);
        assert.equal((await objectBytes(ctx.store, `${prefix}big.bin`)).length, 12 * MiB);
      } finally {
        held.resolve();
        unregister();
      }
    });

    it('progress: a start with uploads queued logs "resuming N uploads (B bytes)"', async () => {
      const t = await link({ syncDelayMs: 600_000 });
      await writeFile(t.fs, 'one.txt', Buffer.alloc(1000, 1));
      await writeFile(t.fs, 'two.txt', Buffer.alloc(234, 2));
      const { logger, entries } = captureLogger();
      await t.reopen({ logger, syncDelayMs: 50 });
      const resumed = entries.filter((e) => String(e.message).startsWith('resuming'));
      assert.deepEqual(resumed.map((e) => e.message), ['resuming 2 uploads (1234 bytes) and 0 deletions']);
      await t.reconciler.drain();
      assert.equal((await objectBytes(ctx.store, `${prefix}two.txt`)).length, 234);
    });
  });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

forBothStores('feedback', feedbackSuite);
