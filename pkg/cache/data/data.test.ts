import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { dataFilePath } from './data-store';
import { openCacheFileSystem } from '../index';
import { MetadataStore } from '../meta/metadata-store';
import { ALICE, BOB, expectCode, freshFs, makeFile, quietLog, ROOT, tempDir, type TestFs } from '../test-helpers';

/** Counts metadata transactions from now until `stop()`. */
function countTransactions(): { readonly n: number; stop(): void } {
  const original = MetadataStore.prototype.transact;
  const counter = { n: 0, stop: () => (MetadataStore.prototype.transact = original) };
  MetadataStore.prototype.transact = function <T>(this: MetadataStore, fn: () => T): Promise<T> {
    counter.n++;
    return original.call(this, fn) as Promise<T>;
  };
  return counter;
}

describe('cache file system: file data', () => {
  let t: TestFs;
  beforeEach(async () => {
    t = await freshFs();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('reads back exactly what was written, at random offsets, against a model', async () => {
    const ino = await makeFile(t.fs, 1, 'random');
    const size = 3 * 1024 * 1024;
    const model = Buffer.alloc(size);
    let end = 0;
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 300; i++) {
      const len = 1 + rand(64 * 1024);
      const off = rand(size - len);
      const chunk = randomBytes(len);
      chunk.copy(model, off);
      end = Math.max(end, off + len);
      const w = await t.fs.write(ROOT, ino, off, chunk, i % 3 === 0 ? 'file-sync' : 'unstable');
      assert.equal(w.count, len);
    }
    assert.equal((await t.fs.getattr(ino)).size, end);
    for (let off = 0; off < end; off += 1024 * 1024) {
      const r = await t.fs.read(ROOT, ino, off, 1024 * 1024);
      assert.ok(r.data.equals(model.subarray(off, Math.min(end, off + 1024 * 1024))), `mismatch at ${off}`);
    }
    for (let i = 0; i < 100; i++) {
      const off = rand(end);
      const len = rand(200_000);
      const r = await t.fs.read(ROOT, ino, off, len);
      assert.ok(r.data.equals(model.subarray(off, Math.min(end, off + len))));
      assert.equal(r.eof, off + len >= end);
    }
  });

  it('reads holes as zeros and reports allocation smaller than size', async () => {
    const ino = await makeFile(t.fs, 1, 'sparse');
    await t.fs.write(ROOT, ino, 10 * 1024 * 1024, Buffer.from('tail'), 'unstable');
    const r = await t.fs.read(ROOT, ino, 0, 65536);
    assert.ok(r.data.equals(Buffer.alloc(65536)));
    assert.equal(r.eof, false);
    await t.fs.commit(ROOT, ino, 0, 0);
    const a = await t.fs.getattr(ino);
    assert.equal(a.size, 10 * 1024 * 1024 + 4);
    assert.ok(a.used > 0 && a.used < 1024 * 1024, `used ${a.used}`);
    // Filling a hole raises the allocation.
    await t.fs.write(ROOT, ino, 0, Buffer.alloc(256 * 1024, 1), 'unstable');
    assert.ok((await t.fs.getattr(ino)).used >= a.used + 256 * 1024);
  });

  it('handles offsets beyond 4 GiB on a sparse file', async () => {
    const ino = await makeFile(t.fs, 1, 'big');
    const marks = [2 ** 32 - 100, 2 ** 32, 5 * 2 ** 32 + 17, 2 ** 40];
    for (const off of marks) await t.fs.write(ROOT, ino, off, Buffer.from(`@${off}`), 'unstable');
    for (const off of marks) {
      const r = await t.fs.read(ROOT, ino, off, String(off).length + 1);
      assert.equal(r.data.toString(), `@${off}`);
    }
    assert.equal((await t.fs.getattr(ino)).size, 2 ** 40 + String(2 ** 40).length + 1);
    const gap = await t.fs.read(ROOT, ino, 2 ** 33, 4096);
    assert.ok(gap.data.equals(Buffer.alloc(4096)));
  });

  it('[error] EFBIG past the maximum file size, EINVAL for a negative offset', async () => {
    const ino = await makeFile(t.fs, 1, 'f');
    const max = t.fs.fsinfo().maxFileSize;
    assert.ok(max >= 2 ** 40);
    await expectCode(t.fs.write(ROOT, ino, max, Buffer.from('x'), 'unstable'), 'EFBIG');
    await expectCode(t.fs.write(ROOT, ino, Number.MAX_SAFE_INTEGER, Buffer.from('x'), 'unstable'), 'EFBIG');
    await expectCode(t.fs.setattr(ROOT, ino, { size: max + 1 }), 'EFBIG');
    await expectCode(t.fs.write(ROOT, ino, -1, Buffer.from('x'), 'unstable'), 'EINVAL');
  });

  it('[error] EISDIR reading or writing a directory, EINVAL on a symlink', async () => {
    const d = await t.fs.mkdir(ROOT, 1, 'd', { mode: 0o755 });
    await expectCode(t.fs.read(ROOT, d.ino, 0, 10), 'EISDIR');
    await expectCode(t.fs.write(ROOT, d.ino, 0, Buffer.from('x'), 'unstable'), 'EISDIR');
    const s = await t.fs.symlink(ROOT, 1, 'l', 'target', {});
    await expectCode(t.fs.read(ROOT, s.ino, 0, 10), 'EINVAL');
    await expectCode(t.fs.write(ROOT, s.ino, 0, Buffer.from('x'), 'unstable'), 'EINVAL');
  });

  it('truncates and extends with holes', async () => {
    const ino = await makeFile(t.fs, 1, 't', { content: Buffer.alloc(100_000, 7) });
    await t.fs.setattr(ROOT, ino, { size: 10 });
    assert.equal((await t.fs.getattr(ino)).size, 10);
    await t.fs.setattr(ROOT, ino, { size: 50_000 });
    const r = await t.fs.read(ROOT, ino, 0, 100_000);
    assert.equal(r.data.length, 50_000);
    assert.ok(r.data.subarray(0, 10).equals(Buffer.alloc(10, 7)));
    assert.ok(r.data.subarray(10).equals(Buffer.alloc(49_990)), 'bytes cut off must not come back');
    assert.equal(r.eof, true);
    // Writing past a truncated end leaves zeros in between, not the old bytes.
    await t.fs.setattr(ROOT, ino, { size: 0 });
    await t.fs.write(ROOT, ino, 60_000, Buffer.from('z'), 'unstable');
    const r2 = await t.fs.read(ROOT, ino, 0, 60_001);
    assert.ok(r2.data.subarray(0, 60_000).equals(Buffer.alloc(60_000)));
    assert.equal(r2.data.toString('latin1', 60_000), 'z');
  });

  it('a stable write to a new file costs no metadata commit (it is born marked); once a flush drops the mark, one stable write commits attributes and mark, the next ones do not', async () => {
    const data = randomBytes(4096);
    const tx = countTransactions();
    try {
      const c = await t.fs.create(ROOT, 1, 'fresh', { kind: 'guarded', attributes: { mode: 0o644 } });
      const afterCreate = tx.n;
      assert.equal(afterCreate, 1);
      const w = await t.fs.write(ROOT, c.ino, 0, data, 'file-sync');
      assert.equal(w.committed, 'file-sync');
      assert.equal(w.file.after?.size, 4096);
      assert.equal(tx.n, afterCreate, 'the write of a marked file only fdatasyncs');
      await t.fs.flush(); // saves the size and drops the mark
      const afterFlush = tx.n;
      assert.ok(afterFlush > afterCreate);
      await t.fs.write(ROOT, c.ino, 4096, data, 'file-sync');
      const afterUnmarked = tx.n;
      assert.ok(afterUnmarked > afterFlush, 'an unmarked file: the stable write persists its attributes (and the mark)');
      await t.fs.write(ROOT, c.ino, 4096, data, 'file-sync');
      assert.equal(tx.n, afterUnmarked, 'marked again: the next stable write only fdatasyncs');
    } finally {
      tx.stop();
    }
    await t.reopen();
    const ino = (await t.fs.lookup(ROOT, 1, 'fresh')).ino;
    assert.equal((await t.fs.getattr(ino)).size, 8192);
    assert.ok((await t.fs.read(ROOT, ino, 0, 8192)).data.equals(Buffer.concat([data, data])));
  });

  it('answers honestly about stability', async () => {
    const ino = await makeFile(t.fs, 1, 's');
    assert.equal((await t.fs.write(ROOT, ino, 0, Buffer.from('a'), 'unstable')).committed, 'unstable');
    assert.equal((await t.fs.write(ROOT, ino, 1, Buffer.from('b'), 'data-sync')).committed, 'file-sync');
    assert.equal((await t.fs.write(ROOT, ino, 2, Buffer.from('c'), 'file-sync')).committed, 'file-sync');
    const c = await t.fs.commit(ROOT, ino, 0, 0);
    assert.equal(c.after?.size, 3);
  });

  it('lands every one of many concurrent writes to the same file', async () => {
    const ino = await makeFile(t.fs, 1, 'c');
    const chunk = 8192;
    const n = 200;
    const chunks = Array.from({ length: n }, () => randomBytes(chunk));
    const order = Array.from({ length: n }, (_, i) => i).sort(() => Math.random() - 0.5);
    await Promise.all(order.map((i) => t.fs.write(ROOT, ino, i * chunk, chunks[i]!, i % 10 === 0 ? 'file-sync' : 'unstable')));
    assert.equal((await t.fs.getattr(ino)).size, n * chunk);
    const r = await t.fs.read(ROOT, ino, 0, n * chunk);
    assert.ok(r.data.equals(Buffer.concat(chunks)));
  });

  it('never returns bytes past EOF when a read races a truncate', async () => {
    const ino = await makeFile(t.fs, 1, 'race', { content: Buffer.alloc(1024 * 1024, 9) });
    for (let round = 0; round < 20; round++) {
      const size = 1024 * 1024 - round * 1000;
      const reads = Array.from({ length: 10 }, () => t.fs.read(ROOT, ino, 0, 2 * 1024 * 1024));
      const trunc = t.fs.setattr(ROOT, ino, { size: round * 1000 });
      const results = await Promise.all(reads);
      await trunc;
      for (const r of results) {
        assert.ok(r.data.length === size || r.data.length === round * 1000, `got ${r.data.length}`);
        assert.ok(r.data.equals(Buffer.alloc(r.data.length, 9)));
      }
      await t.fs.write(ROOT, ino, 0, Buffer.alloc(size - 1000, 9), 'unstable');
      await t.fs.setattr(ROOT, ino, { size: size - 1000 });
    }
  });

  it('[error] ENOSPC past capacityBytes, and fsstat reports the capacity', async () => {
    await t.cleanup();
    t = await freshFs({ capacityBytes: 1024 * 1024 });
    const ino = await makeFile(t.fs, 1, 'cap');
    await t.fs.write(ROOT, ino, 0, Buffer.alloc(512 * 1024, 1), 'unstable');
    await expectCode(t.fs.write(ROOT, ino, 512 * 1024, Buffer.alloc(768 * 1024, 1), 'unstable'), 'ENOSPC');
    // Overwriting allocated bytes needs no new space.
    await t.fs.write(ROOT, ino, 0, Buffer.alloc(512 * 1024, 2), 'unstable');
    const st = await t.fs.fsstat(1);
    assert.equal(st.totalBytes, 1024 * 1024);
    assert.ok(st.freeBytes <= 512 * 1024 && st.freeBytes >= 400 * 1024, `free ${st.freeBytes}`);
    // Space is given back when the file goes.
    await t.fs.remove(ROOT, 1, 'cap');
    assert.equal((await t.fs.fsstat(1)).freeBytes, 1024 * 1024);
  });

  it('[error] ENOSPC past maxInodes', async () => {
    await t.cleanup();
    t = await freshFs({ maxInodes: 3 });
    await makeFile(t.fs, 1, 'a');
    await makeFile(t.fs, 1, 'b');
    await expectCode(makeFile(t.fs, 1, 'c'), 'ENOSPC');
    const st = await t.fs.fsstat(1);
    assert.deepEqual([st.totalFiles, st.freeFiles], [3, 0]);
    await t.fs.remove(ROOT, 1, 'a');
    await makeFile(t.fs, 1, 'c');
  });

  it('reports real fsstat numbers from the cache disk without limits', async () => {
    const st = await t.fs.fsstat(1);
    assert.ok(st.totalBytes > 0 && st.freeBytes <= st.totalBytes && st.availableBytes <= st.freeBytes);
    assert.ok(st.totalFiles >= st.freeFiles && st.freeFiles > 0);
    await expectCode(t.fs.fsstat(9999), 'ESTALE');
  });

  it('clears setuid/setgid when a non-root user writes', async () => {
    const ino = await makeFile(t.fs, 1, 'suid', { mode: 0o6755, owner: ALICE });
    await t.fs.setattr(ROOT, ino, { mode: 0o6775 });
    await t.fs.write(ROOT, ino, 0, Buffer.from('root keeps bits'), 'unstable');
    assert.equal((await t.fs.getattr(ino)).mode, 0o6775);
    await t.fs.write(ALICE, ino, 0, Buffer.from('x'), 'unstable');
    assert.equal((await t.fs.getattr(ino)).mode, 0o0775);
  });

  it('updates mtime and ctime on writes and keeps atime by relatime rules', async () => {
    const ino = await makeFile(t.fs, 1, 'times', { content: Buffer.from('abc') });
    const a0 = await t.fs.getattr(ino);
    await t.fs.read(BOB, ino, 0, 3);
    const a1 = await t.fs.getattr(ino);
    assert.ok(a1.atime.sec > a0.atime.sec || a1.atime.nsec !== a0.atime.nsec, 'first read after a write updates atime');
    await t.fs.read(ROOT, ino, 0, 3);
    assert.deepEqual((await t.fs.getattr(ino)).atime, a1.atime, 'a second read does not');
    await t.fs.write(ROOT, ino, 0, Buffer.from('z'), 'unstable');
    const a2 = await t.fs.getattr(ino);
    assert.ok(a2.mtime.sec * 1e9 + a2.mtime.nsec > a1.atime.sec * 1e9 + a1.atime.nsec);
    assert.deepEqual(a2.ctime, a2.mtime);
  });
});

describe('cache file system: data file layout', () => {
  it('a new cache puts runs of 16 consecutive inode numbers in one shard directory (layout 2), and keeps it across restarts', async () => {
    const t = await freshFs();
    try {
      const root = path.join(t.dir, 'data');
      assert.equal(fs.readFileSync(path.join(root, 'LAYOUT'), 'utf8'), '2\n');
      assert.equal(path.dirname(dataFilePath(root, 16, 2)), path.dirname(dataFilePath(root, 31, 2)));
      assert.notEqual(path.dirname(dataFilePath(root, 31, 2)), path.dirname(dataFilePath(root, 32, 2)));
      assert.equal(path.dirname(dataFilePath(root, 5, 2)), path.dirname(dataFilePath(root, 5 + 16 * 256, 2)), '256 shards');
      const f = await makeFile(t.fs, 1, 'f', { content: Buffer.from('layout two') });
      assert.equal(fs.readFileSync(dataFilePath(root, f, 2), 'utf8'), 'layout two');
      await t.reopen();
      assert.equal((await t.fs.read(ROOT, f, 0, 100)).data.toString(), 'layout two');
    } finally {
      await t.cleanup();
    }
  });

  it('a cache made before layout 2 (shard directories, no LAYOUT file) keeps ino & 0xff', async () => {
    const dir = tempDir();
    // What layout 1 left: the data directory with its shard directories, no marker.
    for (let i = 0; i < 256; i++) fs.mkdirSync(path.join(dir, 'data', i.toString(16).padStart(2, '0')), { recursive: true });
    let cfs = await openCacheFileSystem({ dir, logger: quietLog });
    try {
      const f = await makeFile(cfs, 1, 'f', { content: Buffer.from('layout one') });
      assert.equal(fs.existsSync(path.join(dir, 'data', 'LAYOUT')), false);
      assert.equal(fs.readFileSync(dataFilePath(path.join(dir, 'data'), f, 1), 'utf8'), 'layout one');
      await cfs.close();
      cfs = await openCacheFileSystem({ dir, logger: quietLog });
      assert.equal((await cfs.read(ROOT, f, 0, 100)).data.toString(), 'layout one');
    } finally {
      await cfs.close().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
