// The reconciler's behaviour against a real object store (FolderStore, and S3Store on Ceph RGW):
// what local changes become in the bucket, and what objects put into the bucket directly
// become in the file system. `reconcileSuite(name, setup)` inside a spec file; `setup` returns
// a store over an empty bucket (each test works under its own prefix).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { ObjectStore } from '../../pkg/s3/object-store';
import { ROOT, assertKeys, bucketKeys, exists, linkedExport, listNames, mkdirs, objectBytes, readFile, resolve, uniquePrefix, writeFile, type TestExport } from './linked-fs';
import { recordingStore, type RecordingStore } from './recording-store';

export interface SuiteSetup {
  store: ObjectStore;
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

export function reconcileSuite(name: string, setup: () => Promise<SuiteSetup>): void {
  describe(`reconciler: ${name}`, function () {
    this.timeout(120_000);
    let ctx: SuiteSetup;
    let rec: RecordingStore;
    const open: TestExport[] = [];
    let prefix = '';

    const link = async (extra: Parameters<typeof linkedExport>[2] = {}): Promise<TestExport> => {
      const t = await linkedExport(rec.store, prefix, extra);
      open.push(t);
      return t;
    };

    before(async () => {
      ctx = await setup();
      rec = recordingStore(ctx.store);
    });
    beforeEach(function () {
      prefix = uniquePrefix(this.currentTest?.title.slice(0, 20).replace(/[^a-z0-9]+/gi, '-') ?? 't');
      rec.reset();
    });
    afterEach(async () => {
      for (const t of open.splice(0)) await t.cleanup();
    });
    after(async () => ctx && ctx.cleanup());

    it('linking copies nothing: only listings until a file is read', async () => {
      await ctx.store.put(`${prefix}big.bin`, randomBytes(3 * MiB));
      rec.reset();
      const t = await link();
      assert.deepEqual(await listNames(t.fs, ''), ['big.bin']);
      assert.equal(rec.count('get') + rec.count('getBuffer'), 0);
      assert.equal((await t.fs.getattr(await resolve(t.fs, 'big.bin'))).used, 0);
      await t.fs.read(ROOT, await resolve(t.fs, 'big.bin'), 1.5 * MiB, 100);
      assert.ok(rec.count('getBuffer') >= 1, 'a ranged GET fetched the block');
    });

    it('objects put directly appear with their sizes, modes, owners, times and contents', async () => {
      const s = ctx.store;
      const data = randomBytes(2.5 * MiB);
      await s.put(`${prefix}s3fs.bin`, data, { metadata: { mode: '33261', uid: '1000', gid: '1001', mtime: '1600000000' } });
      await s.put(`${prefix}plain.txt`, Buffer.from('no metadata'));
      await s.put(`${prefix}rclone.txt`, Buffer.from('r'), { metadata: { mtime: '2021-02-03T04:05:06.123456789Z' } });
      await s.put(`${prefix}octal.txt`, Buffer.from('o'), { metadata: { mode: '100600' } });
      await s.put(`${prefix}dir/`, Buffer.alloc(0), { metadata: { mode: '16832', uid: '7', gid: '8' } });
      await s.put(`${prefix}dir/inner.txt`, Buffer.from('inner'));
      await s.put(`${prefix}implicit/deep/x.txt`, Buffer.from('x'));
      await s.put(`${prefix}empty/`, Buffer.alloc(0));
      await s.put(`${prefix}ln`, Buffer.from('s3fs.bin'), { metadata: { mode: '41471' } });
      const t = await link({ defaults: { uid: 500, gid: 501, fileMode: 0o640, dirMode: 0o750 } });
      assert.deepEqual(await listNames(t.fs, ''), ['dir', 'empty', 'implicit', 'ln', 'octal.txt', 'plain.txt', 'rclone.txt', 's3fs.bin']);
      const a = await t.fs.getattr(await resolve(t.fs, 's3fs.bin'));
      assert.deepEqual([a.type, a.size, a.mode, a.uid, a.gid, a.mtime.sec], ['file', data.length, 0o755, 1000, 1001, 1600000000]);
      assert.equal(md5(await readFile(t.fs, 's3fs.bin')), md5(data));
      const p = await t.fs.getattr(await resolve(t.fs, 'plain.txt'));
      assert.deepEqual([p.mode, p.uid, p.gid], [0o640, 500, 501]);
      const r = await t.fs.getattr(await resolve(t.fs, 'rclone.txt'));
      assert.deepEqual(r.mtime, { sec: 1612325106, nsec: 123456789 });
      assert.equal((await t.fs.getattr(await resolve(t.fs, 'octal.txt'))).mode, 0o600);
      const d = await t.fs.getattr(await resolve(t.fs, 'dir'));
      assert.deepEqual([d.type, d.mode, d.uid, d.gid], ['dir', 0o700, 7, 8]);
      assert.equal((await readFile(t.fs, 'dir/inner.txt')).toString(), 'inner');
      assert.equal((await readFile(t.fs, 'implicit/deep/x.txt')).toString(), 'x');
      assert.deepEqual(await listNames(t.fs, 'empty'), []);
      const ln = await resolve(t.fs, 'ln');
      assert.equal((await t.fs.readlink(ROOT, ln)).target, 's3fs.bin');
    });

    it('[error] an object deleted between LIST and GET: EIO, and the name is gone at the next listing', async () => {
      await ctx.store.put(`${prefix}vanishing.txt`, Buffer.from('soon gone'));
      const t = await link({ dirTtlMs: 60_000 });
      const ino = await resolve(t.fs, 'vanishing.txt');
      await ctx.store.delete(`${prefix}vanishing.txt`);
      await assert.rejects(t.fs.read(ROOT, ino, 0, 100), /EIO/);
      await new Promise((r) => setTimeout(r, 50)); // the listing is marked stale in the background
      assert.deepEqual(await listNames(t.fs, ''), []);
    });

    it('keys that cannot be names are skipped and counted, never break a listing', async () => {
      const s = ctx.store;
      await s.put(`${prefix}ok.txt`, Buffer.from('ok'));
      await s.put(`${prefix}a//b`, Buffer.from('double slash'));
      await s.put(`${prefix}./dot`, Buffer.from('dot'));
      await s.put(`${prefix}../dotdot`, Buffer.from('dotdot'));
      await s.put(`${prefix}${'n'.repeat(300)}`, Buffer.from('long'));
      await s.put(`${prefix}clash`, Buffer.from('file'));
      await s.put(`${prefix}clash/child`, Buffer.from('child'));
      const t = await link();
      assert.deepEqual(await listNames(t.fs, ''), ['a', 'clash', 'ok.txt']);
      assert.deepEqual(await listNames(t.fs, 'a'), []);
      assert.equal((await t.fs.getattr(await resolve(t.fs, 'clash'))).type, 'dir');
      assert.ok(t.fs.sync!.counters().skippedKeys >= 5, `skipped ${t.fs.sync!.counters().skippedKeys}`);
    });

    it('local writes become objects with the right keys, bytes and metadata', async () => {
      const t = await link();
      await mkdirs(t.fs, 'docs/sub', 0o750);
      const small = randomBytes(100_000);
      const big = randomBytes(20 * MiB + 12345);
      await writeFile(t.fs, 'docs/small.bin', small, 0o600);
      await writeFile(t.fs, 'docs/sub/big.bin', big);
      await t.fs.symlink(ROOT, await resolve(t.fs, 'docs'), 'link', 'small.bin', {});
      await t.fs.mknod(ROOT, await resolve(t.fs, 'docs'), 'fifo', 'fifo', { mode: 0o644 }, { major: 0, minor: 0 });
      await t.reconciler.drain();
      assertKeys(await bucketKeys(ctx.store, prefix), ['docs/', 'docs/sub/', 'docs/small.bin', 'docs/sub/big.bin', 'docs/link', 'docs/fifo']);
      assert.equal(md5(await objectBytes(ctx.store, `${prefix}docs/small.bin`)), md5(small));
      assert.equal(md5(await objectBytes(ctx.store, `${prefix}docs/sub/big.bin`)), md5(big));
      const h = await ctx.store.head(`${prefix}docs/small.bin`);
      assert.deepEqual([h.metadata.mode, h.metadata.uid, h.metadata.gid], ['33152', '0', '0']);
      assert.match(h.metadata.mtime!, /^\d+$/);
      assert.equal((await ctx.store.head(`${prefix}docs/`)).metadata.mode, String(0o40750));
      assert.equal((await objectBytes(ctx.store, `${prefix}docs/link`)).toString(), 'small.bin');
      assert.equal((await ctx.store.head(`${prefix}docs/link`)).metadata.mode, String(0o120777));
      assert.equal((await ctx.store.head(`${prefix}docs/fifo`)).metadata.mode, String(0o10644));
      assert.equal(rec.count('createMultipartUpload', `${prefix}docs/sub/big.bin`), 1);
    });

    it('chmod, chown and utimes rewrite metadata in place (copy with REPLACE), not the bytes', async () => {
      const t = await link();
      const ino = await writeFile(t.fs, 'f.txt', Buffer.from('payload'));
      await t.reconciler.drain();
      const before = await ctx.store.head(`${prefix}f.txt`);
      rec.reset();
      await t.fs.setattr(ROOT, ino, { mode: 0o604, uid: 42, gid: 43, mtime: { sec: 1500000000, nsec: 0 } });
      await t.reconciler.drain();
      const after = await ctx.store.head(`${prefix}f.txt`);
      assert.deepEqual([after.metadata.mode, after.metadata.uid, after.metadata.gid, after.metadata.mtime], [String(0o100604), '42', '43', '1500000000']);
      assert.equal(after.etag, before.etag);
      assert.equal(rec.count('put'), 0);
      assert.equal(rec.count('copy'), 1);
    });

    it('rename of a file copies first and deletes the source only after the copy exists', async () => {
      const t = await link();
      await mkdirs(t.fs, 'a');
      await writeFile(t.fs, 'a/one.txt', Buffer.from('one'));
      await t.reconciler.drain();
      rec.reset();
      await t.fs.rename(ROOT, await resolve(t.fs, 'a'), 'one.txt', t.fs.rootIno, 'two.txt');
      await t.reconciler.drain();
      assertKeys(await bucketKeys(ctx.store, prefix), ['a/', 'two.txt']);
      const ops = rec.calls.filter((c) => c.op === 'copy' || c.op === 'delete').map((c) => `${c.op}:${c.key.slice(prefix.length)}`);
      assert.deepEqual(ops, ['copy:a/one.txt', 'delete:a/one.txt']);
      assert.equal((await objectBytes(ctx.store, `${prefix}two.txt`)).toString(), 'one');
    });

    it('rename over an existing file replaces the object without deleting the name first', async () => {
      await ctx.store.put(`${prefix}target.txt`, Buffer.from('old target'));
      const t = await link();
      await writeFile(t.fs, 'tmp.txt', Buffer.from('new version'));
      await t.reconciler.drain();
      rec.reset();
      await t.fs.rename(ROOT, t.fs.rootIno, 'tmp.txt', t.fs.rootIno, 'target.txt');
      await t.reconciler.drain();
      assertKeys(await bucketKeys(ctx.store, prefix), ['target.txt']);
      assert.equal((await objectBytes(ctx.store, `${prefix}target.txt`)).toString(), 'new version');
      assert.equal(rec.calls.filter((c) => c.op === 'delete' && c.key === `${prefix}target.txt`).length, 0);
    });

    it('a file with two hard links stays under its name; when that name goes, it moves to the other', async () => {
      const t = await link();
      const a = await mkdirs(t.fs, 'a');
      await mkdirs(t.fs, 'z');
      const ino = await writeFile(t.fs, 'z/f', Buffer.from('linked'));
      await t.reconciler.drain();
      await t.fs.link(ROOT, ino, a, 'g');
      await t.reconciler.drain();
      assertKeys(await bucketKeys(ctx.store, prefix), ['a/', 'z/', 'z/f']);
      await t.fs.remove(ROOT, await resolve(t.fs, 'z'), 'f');
      await t.reconciler.drain();
      assertKeys(await bucketKeys(ctx.store, prefix), ['a/', 'z/', 'a/g']);
      assert.equal((await objectBytes(ctx.store, `${prefix}a/g`)).toString(), 'linked');
    });

    it('a cycle of renames (swap) ends with each object under the other name', async () => {
      const t = await link();
      await writeFile(t.fs, 'x', Buffer.from('content of x'));
      await writeFile(t.fs, 'y', Buffer.from('content of y'));
      await t.reconciler.drain();
      await t.fs.rename(ROOT, t.fs.rootIno, 'x', t.fs.rootIno, 'tmp');
      await t.fs.rename(ROOT, t.fs.rootIno, 'y', t.fs.rootIno, 'x');
      await t.fs.rename(ROOT, t.fs.rootIno, 'tmp', t.fs.rootIno, 'y');
      await t.reconciler.drain();
      assertKeys(await bucketKeys(ctx.store, prefix), ['x', 'y']);
      assert.equal((await objectBytes(ctx.store, `${prefix}x`)).toString(), 'content of y');
      assert.equal((await objectBytes(ctx.store, `${prefix}y`)).toString(), 'content of x');
    });

    it('rename of a directory moves every key under it, listed or not', async () => {
      for (let i = 0; i < 30; i++) await ctx.store.put(`${prefix}old/n${i}/f.txt`, Buffer.from(`file ${i}`));
      await ctx.store.put(`${prefix}old/top.txt`, Buffer.from('top'));
      const t = await link();
      await writeFile(t.fs, 'old/added.txt', Buffer.from('added here'));
      await t.fs.rename(ROOT, t.fs.rootIno, 'old', t.fs.rootIno, 'new');
      await t.reconciler.drain();
      const keys = await bucketKeys(ctx.store, prefix);
      assert.ok(Array.from(keys.keys()).every((k) => k.startsWith('new/')), Array.from(keys.keys()).join(' '));
      assert.equal(keys.size, 33); // 30 + top + added + the marker of new/
      assert.equal((await readFile(t.fs, 'new/n17/f.txt')).toString(), 'file 17');
      assert.equal((await objectBytes(ctx.store, `${prefix}new/added.txt`)).toString(), 'added here');
    });

    it('jobs under a directory move in progress are turned away once each and wait for its end (no polling)', async () => {
      const n = 40;
      for (let i = 0; i < n; i++) await ctx.store.put(`${prefix}old/f${i}`, Buffer.from(`file ${i}`));
      const t = await link();
      assert.equal((await listNames(t.fs, 'old')).length, n);
      await t.fs.remove(ROOT, await resolve(t.fs, 'old'), 'f0');
      // A move of old/ that holds the fence until released: the rename's own move waits behind
      // it, and the inodes and the tombstone under old/ are fenced off meanwhile.
      let release!: () => void;
      const held = t.reconciler.ctx.fence.move('old/', 'held-elsewhere/', () => new Promise<void>((r) => (release = r)));
      try {
        await t.fs.rename(ROOT, t.fs.rootIno, 'old', t.fs.rootIno, 'new');
        await new Promise((r) => setTimeout(r, 1500)); // 30 sync delays: polling would retry each job several times
        const deferred = t.reconciler.ctx.stats.deferredByMove;
        assert.ok(deferred >= 1 && deferred <= n + 2, `${deferred} jobs turned away by the move for ${n} names under it (each once)`);
        assert.equal(rec.count('copy') + rec.count('delete'), 0, 'nothing under the fence moved');
      } finally {
        release();
        await held;
      }
      await t.reconciler.drain();
      const keys = await bucketKeys(ctx.store, prefix);
      assert.deepEqual(Array.from(keys.keys()).sort(), ['new/', ...Array.from({ length: n - 1 }, (_, i) => `new/f${i + 1}`)].sort());
      assert.equal((await readFile(t.fs, 'new/f7')).toString(), 'file 7');
    });

    it('unlink and rmdir delete the objects; mkdir of an empty directory leaves a marker', async () => {
      await ctx.store.put(`${prefix}gone.txt`, Buffer.from('x'));
      await ctx.store.put(`${prefix}d/inside.txt`, Buffer.from('y'));
      const t = await link();
      await t.fs.remove(ROOT, t.fs.rootIno, 'gone.txt');
      await t.fs.remove(ROOT, await resolve(t.fs, 'd'), 'inside.txt');
      await t.fs.rmdir(ROOT, t.fs.rootIno, 'd');
      await t.fs.mkdir(ROOT, t.fs.rootIno, 'fresh', { mode: 0o755 });
      await t.reconciler.drain();
      assertKeys(await bucketKeys(ctx.store, prefix), ['fresh/']);
    });

    it('a removed directory whose objects are still to be deleted does not come back when its parent is listed again', async () => {
      await ctx.store.put(`${prefix}implicit/a.txt`, Buffer.from('a')); // no marker object
      await ctx.store.put(`${prefix}implicit/sub/b.txt`, Buffer.from('b'));
      await ctx.store.put(`${prefix}keep.txt`, Buffer.from('k'));
      const t = await link({ syncDelayMs: 60_000, dirTtlMs: 0 });
      const dir = await resolve(t.fs, 'implicit');
      const sub = await resolve(t.fs, 'implicit/sub');
      await t.fs.remove(ROOT, sub, 'b.txt');
      await t.fs.rmdir(ROOT, dir, 'sub');
      await t.fs.remove(ROOT, dir, 'a.txt');
      await t.fs.rmdir(ROOT, t.fs.rootIno, 'implicit');
      // The deletions are queued (60 s sync delay): the objects are still in the bucket.
      assert.ok((await bucketKeys(ctx.store, prefix)).has('implicit/a.txt'));
      assert.deepEqual(await listNames(t.fs, ''), ['keep.txt'], 'listed again (TTL 0): no ghost');
      await t.reconciler.drain();
      assertKeys(await bucketKeys(ctx.store, prefix), ['keep.txt']);
      assert.deepEqual(await listNames(t.fs, ''), ['keep.txt']);
    });

    it('rmdir of a directory that looks empty but has objects in the bucket is ENOTEMPTY', async () => {
      await ctx.store.put(`${prefix}d/remote-only.txt`, Buffer.from('y'));
      const t = await link();
      await resolve(t.fs, 'd'); // listed at the root only
      await assert.rejects(t.fs.rmdir(ROOT, t.fs.rootIno, 'd'), /ENOTEMPTY/);
    });

    it('a 1 MiB change in a large file re-sends one part and copies the rest server-side', async function () {
      if (!ctx.store.capabilities.uploadPartCopy) this.skip();
      const t = await link();
      const data = randomBytes(64 * MiB);
      const ino = await writeFile(t.fs, 'large.bin', data);
      await t.reconciler.drain();
      const s0 = { ...t.reconciler.ctx.stats };
      const patch = randomBytes(MiB);
      await t.fs.write(ROOT, ino, 30 * MiB, patch, 'file-sync');
      patch.copy(data, 30 * MiB);
      await t.reconciler.drain();
      const sent = t.reconciler.ctx.stats.bytesSent - s0.bytesSent;
      const copied = t.reconciler.ctx.stats.bytesCopied - s0.bytesCopied;
      assert.ok(sent <= 8 * MiB, `sent ${sent}`);
      assert.ok(copied >= 56 * MiB, `copied ${copied}`);
      assert.equal(md5(await objectBytes(ctx.store, `${prefix}large.bin`)), md5(data));
    });

    it('a large cold sequential read is served by several ranged GETs in flight, also when reads arrive out of order', async () => {
      const data = randomBytes(48 * MiB);
      await ctx.store.put(`${prefix}movie.bin`, data);
      const t = await link();
      const ino = await resolve(t.fs, 'movie.bin');
      rec.reset();
      const parts: Buffer[] = [];
      for (let off = 0; off < data.length; off += 2 * MiB) {
        // The kernel client keeps several READs in flight: the later one may come first.
        const [b, a] = await Promise.all([t.fs.read(ROOT, ino, off + MiB, MiB), t.fs.read(ROOT, ino, off, MiB)]);
        parts.push(a.data, b.data);
      }
      assert.equal(md5(Buffer.concat(parts)), md5(data));
      const c = t.fs.sync!.counters();
      assert.ok(c.streamedBytes >= 24 * MiB, JSON.stringify(c));
      // Parts of 2 MiB growing to 8 MiB, a window of 16 MiB and more ahead of the reader.
      assert.ok(c.peakStreamParts >= 4, `at most ${c.peakStreamParts} ranged GETs of the stream were in flight at once`);
      assert.ok(rec.count('getBuffer') >= 6 && rec.count('getBuffer') <= 30, `ranged GETs: ${rec.count('getBuffer')}`);
      assert.equal(rec.count('get'), 0, 'no single streamed GET');
      assert.equal((await t.fs.getattr(ino)).used < 24 * MiB, true, 'streamed data was cached');
    });

    it('objects changed or deleted in the bucket show after the TTL; unsynced local changes are not clobbered', async () => {
      await ctx.store.put(`${prefix}changes.txt`, Buffer.from('v1'));
      await ctx.store.put(`${prefix}deleted.txt`, Buffer.from('d'));
      await ctx.store.put(`${prefix}mine.txt`, Buffer.from('base'));
      const t = await link({ dirTtlMs: 200, syncDelayMs: 60_000 });
      assert.equal((await readFile(t.fs, 'changes.txt')).toString(), 'v1');
      await t.fs.write(ROOT, await resolve(t.fs, 'mine.txt'), 0, Buffer.from('LOCAL'), 'file-sync');
      await ctx.store.put(`${prefix}changes.txt`, Buffer.from('version two'));
      await ctx.store.delete(`${prefix}deleted.txt`);
      await ctx.store.put(`${prefix}added.txt`, Buffer.from('new'));
      await ctx.store.put(`${prefix}mine.txt`, Buffer.from('remote edit'));
      await new Promise((r) => setTimeout(r, 300));
      // Past the TTL the cached listing answers at once, and a new one is fetched meanwhile.
      assert.deepEqual(await listNames(t.fs, ''), ['changes.txt', 'deleted.txt', 'mine.txt']);
      await t.fs.sync!.listingsIdle();
      assert.deepEqual(await listNames(t.fs, ''), ['added.txt', 'changes.txt', 'mine.txt']);
      assert.equal((await readFile(t.fs, 'changes.txt')).toString(), 'version two');
      assert.equal((await readFile(t.fs, 'mine.txt')).toString(), 'LOCAL');
    });

    it('listing again after the TTL keeps what was uploaded as it is (symlinks, FIFOs, files, directories)', async () => {
      const t = await link({ dirTtlMs: 100 });
      await writeFile(t.fs, 'file.txt', Buffer.from('data'));
      await t.fs.symlink(ROOT, t.fs.rootIno, 'link', 'file.txt', {});
      await t.fs.mknod(ROOT, t.fs.rootIno, 'fifo', 'fifo', { mode: 0o600 }, { major: 0, minor: 0 });
      await t.fs.mkdir(ROOT, t.fs.rootIno, 'dir', { mode: 0o700 });
      await t.reconciler.drain();
      const before = await Promise.all(['file.txt', 'link', 'fifo', 'dir'].map(async (n) => resolve(t.fs, n)));
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(await listNames(t.fs, ''), ['dir', 'fifo', 'file.txt', 'link']);
      const after = await Promise.all(['file.txt', 'link', 'fifo', 'dir'].map(async (n) => resolve(t.fs, n)));
      assert.deepEqual(after, before, 'inodes were replaced by the re-listing');
      assert.equal((await t.fs.readlink(ROOT, after[1]!)).target, 'file.txt');
      assert.equal((await t.fs.getattr(after[2]!)).type, 'fifo');
      assert.equal((await t.fs.getattr(after[3]!)).mode, 0o700);
    });

    it('conflict: a pending local edit of an object changed in the bucket goes to lost+found', async () => {
      await ctx.store.put(`${prefix}doc.txt`, Buffer.from('original'));
      const t = await link({ syncDelayMs: 500 });
      await t.fs.write(ROOT, await resolve(t.fs, 'doc.txt'), 0, Buffer.from('LOCAL EDIT'), 'file-sync');
      await ctx.store.put(`${prefix}doc.txt`, Buffer.from('remote edit wins'));
      await t.reconciler.drain();
      assert.equal((await objectBytes(ctx.store, `${prefix}doc.txt`)).toString(), 'remote edit wins');
      assert.equal(t.reconciler.ctx.stats.conflicts, 1);
      assert.equal((await readFile(t.fs, 'doc.txt')).toString(), 'remote edit wins');
      const kept = await listNames(t.fs, '.s3files-lost+found');
      assert.equal(kept.length, 1);
      assert.match(kept[0]!, /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/);
      assert.equal((await readFile(t.fs, `.s3files-lost+found/${kept[0]}/doc.txt`)).toString(), 'LOCAL EDIT');
      assertKeys(await bucketKeys(ctx.store, prefix), ['doc.txt']);
    });

    it('conflict: a new local file whose name appeared in the bucket meanwhile', async () => {
      const t = await link({ syncDelayMs: 500 });
      await writeFile(t.fs, 'race.txt', Buffer.from('mine'));
      await ctx.store.put(`${prefix}race.txt`, Buffer.from('theirs'));
      await t.reconciler.drain();
      assert.equal((await objectBytes(ctx.store, `${prefix}race.txt`)).toString(), 'theirs');
      assert.equal(t.reconciler.ctx.stats.conflicts, 1);
      assert.equal((await listNames(t.fs, '.s3files-lost+found')).length, 1);
    });

    it('sync-on-commit: COMMIT answers only once the file is in the bucket', async () => {
      const t = await link({ syncDelayMs: 60_000, syncOnCommitMs: 20_000 });
      const data = randomBytes(300_000);
      await writeFile(t.fs, 'durable.bin', data); // ends with COMMIT
      assert.equal(md5(await objectBytes(ctx.store, `${prefix}durable.bin`)), md5(data));
      assert.equal(t.fs.sync!.fileStatus(await resolve(t.fs, 'durable.bin'))!.inBucket, true);
    });

    it('small files are fetched in the background when their directory is first listed', async () => {
      const small = [randomBytes(1000), randomBytes(50_000), randomBytes(100_000)];
      for (const [i, d] of small.entries()) await ctx.store.put(`${prefix}s${i}`, d);
      await ctx.store.put(`${prefix}large`, randomBytes(400_000));
      const t = await link({ prefetchBytes: 128 * 1024 });
      await listNames(t.fs, '');
      const want = small.reduce((n, d) => n + d.length, 0);
      for (let i = 0; i < 100 && t.fs.sync!.counters().fetchedBytes < want; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(t.fs.sync!.counters().fetchedBytes, want);
      rec.reset();
      for (const [i, d] of small.entries()) assert.equal(md5(await readFile(t.fs, `s${i}`)), md5(d));
      assert.equal(rec.count('getBuffer'), 0, 'reading a prefetched file went to the bucket');
    });

    it('the queue survives a restart: changes made before close reach the bucket after reopening', async () => {
      const t = await link({ syncDelayMs: 60_000 });
      await writeFile(t.fs, 'later.txt', Buffer.from('queued'));
      await t.fs.mkdir(ROOT, t.fs.rootIno, 'dir', { mode: 0o755 });
      await t.reopen({ syncDelayMs: 50 });
      await t.reconciler.drain();
      assertKeys(await bucketKeys(ctx.store, prefix), ['later.txt', 'dir/']);
      assert.ok(await exists(t.fs, 'later.txt'));
    });

    it('clean cached data is evicted under the cache size and read back from the bucket', async () => {
      const t = await link({ cacheSizeBytes: 6 * MiB });
      const files = [0, 1, 2, 3].map(() => randomBytes(3 * MiB));
      for (const [i, d] of files.entries()) await writeFile(t.fs, `f${i}`, d);
      await t.reconciler.drain();
      for (const [i, d] of files.entries()) assert.equal(md5(await readFile(t.fs, `f${i}`)), md5(d));
      const c = t.fs.sync!.counters();
      assert.ok(c.evictedFiles >= 1, JSON.stringify(c));
      for (const [i, d] of files.entries()) assert.equal(md5(await readFile(t.fs, `f${i}`)), md5(d));
    });
  });
}
