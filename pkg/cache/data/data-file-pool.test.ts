import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DataFilePool, MAKE_IT } from './data-file-pool';
import { dataFilePath } from './data-store';
import { freshFs, quietLog, ROOT, tempDir } from '../test-helpers';

const DEPTH = 8;

interface PoolState {
  next: number;
  kinds: Map<number, 'file' | 'dir'>;
}

/**
 * A pool over a temporary directory, the allocation and inode kinds under the test's control,
 * with its first batch (numbers next .. next + DEPTH - 1) made.
 */
async function filledPool(dir: string, next: number): Promise<{ pool: DataFilePool; state: PoolState }> {
  const state: PoolState = { next, kinds: new Map() };
  const pool = new DataFilePool({
    pathOf: (ino) => path.join(dir, String(ino)),
    dirOf: () => dir,
    nextIno: () => state.next,
    isRegularFile: (ino) => {
      const kind = state.kinds.get(ino);
      return kind === undefined ? undefined : kind === 'file';
    },
    depth: DEPTH,
    log: quietLog,
  });
  pool.refillSoon();
  await prepared(path.join(dir, String(next + DEPTH - 1)));
  return { pool, state };
}

/** Waits until the pool's background refill has made the file for `ino`. */
async function prepared(file: string): Promise<void> {
  for (let i = 0; i < 200 && !fs.existsSync(file); i++) await new Promise((r) => setTimeout(r, 5));
  // The name exists before the refill's directory fsync ends; take() waits for that itself.
  assert.ok(fs.existsSync(file), `${file} was never prepared`);
}

describe('cache data file pool', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('hands out an open descriptor of an empty file for each of the next numbers, once', async () => {
    const { pool } = await filledPool(dir, 10);
    for (const ino of [10, 13, 17]) {
      const fd = await pool.take(ino);
      assert.ok(typeof fd === 'number', `no prepared file for ${ino}`);
      assert.equal(fs.fstatSync(fd).size, 0);
      fs.writeSync(fd, Buffer.from(`ino ${ino}`), 0, undefined, 0);
      fs.closeSync(fd);
      assert.equal(fs.readFileSync(path.join(dir, String(ino)), 'utf8'), `ino ${ino}`);
      assert.equal(await pool.take(ino), undefined, 'a descriptor is handed out only once');
    }
    assert.equal(await pool.take(9), undefined, 'numbers already allocated are not prepared');
    assert.equal(await pool.take(18), undefined, 'only depth numbers ahead');
    await pool.close();
  });

  it('unlinks what it prepared for numbers that became another kind, keeps regular files, empty', async () => {
    const { pool, state } = await filledPool(dir, 1);
    // 1-8 allocated: odd numbers directories, even numbers files never written.
    for (let ino = 1; ino <= 8; ino++) state.kinds.set(ino, ino % 2 === 1 ? 'dir' : 'file');
    state.next = 30; // more than depth past them: stale now
    const fd = await pool.take(30); // a take starts the refill that releases stale files
    if (typeof fd === 'number') fs.closeSync(fd);
    await prepared(path.join(dir, '37'));
    await pool.take(31).then((d) => typeof d === 'number' && fs.closeSync(d));
    for (let ino = 1; ino <= 8; ino++) {
      const file = path.join(dir, String(ino));
      if (ino % 2 === 1) assert.equal(fs.existsSync(file), false, `directory ${ino} kept a data file`);
      else assert.equal(fs.statSync(file).size, 0, `file ${ino}`);
    }
    await pool.close();
  });

  it('a number whose inode is not visible yet is never unlinked (a write may be opening it)', async () => {
    const { pool, state } = await filledPool(dir, 1);
    state.next = 40;
    await pool.take(40).then((d) => typeof d === 'number' && fs.closeSync(d));
    await prepared(path.join(dir, '47'));
    for (let ino = 1; ino <= 8; ino++) assert.ok(fs.existsSync(path.join(dir, String(ino))), `${ino} unlinked`);
    await pool.close();
  });

  it('a stale number taken while a refill releases the others keeps its descriptor open', async () => {
    const { pool, state } = await filledPool(dir, 1);
    for (let ino = 1; ino <= 8; ino++) state.kinds.set(ino, 'file');
    state.next = 30;
    pool.refillSoon(); // releases 1-8, one close at a time
    const fd = await pool.take(8); // a late first write of file 8, meanwhile
    assert.ok(typeof fd === 'number');
    await prepared(path.join(dir, '37'));
    await pool.take(30).then((d) => typeof d === 'number' && fs.closeSync(d));
    fs.writeSync(fd, Buffer.from('still mine'), 0, undefined, 0);
    fs.closeSync(fd);
    // (A descriptor closed under its taker may have been reused for another file by now.)
    assert.equal(fs.readFileSync(path.join(dir, '8'), 'utf8'), 'still mine');
    await pool.close();
  });

  it('never remakes (empties) the file of a number allocated and written while a refill ran', async () => {
    const { pool, state } = await filledPool(dir, 1);
    for (let ino = 1; ino <= 8; ino++) state.kinds.set(ino, 'file');
    state.next = 20;
    pool.refillSoon(); // sees 20 as the next number, then releases 1-8
    // Meanwhile 20 is allocated and written through the ordinary path (no prepared file).
    state.next = 21;
    fs.writeFileSync(path.join(dir, '20'), 'written by its file');
    await prepared(path.join(dir, '28'));
    assert.equal(fs.readFileSync(path.join(dir, '20'), 'utf8'), 'written by its file');
    await pool.close();
  });

  it('empties a file an earlier run left for a number not allocated yet', async () => {
    fs.writeFileSync(path.join(dir, '5'), 'stale bytes of nobody');
    const { pool } = await filledPool(dir, 5);
    const fd = await pool.take(5);
    assert.ok(typeof fd === 'number');
    assert.equal(fs.fstatSync(fd).size, 0);
    fs.closeSync(fd);
    await pool.close();
  });

  it('after a chunk failed, its numbers are for the taker to make (their names may not be durable); later ones are unknown', async () => {
    const state: PoolState = { next: 100, kinds: new Map() };
    let warned = 0;
    const log = Object.create(quietLog) as typeof quietLog;
    log.warn = ((): typeof log => {
      warned++;
      return log;
    }) as unknown as typeof log.warn;
    const pool = new DataFilePool({
      pathOf: (ino) => path.join(dir, String(ino)),
      // The directory fsync fails: the files exist, their names are not known to be durable.
      dirOf: () => path.join(dir, 'no-such-directory'),
      nextIno: () => state.next,
      isRegularFile: () => undefined,
      depth: 40,
      log,
    });
    pool.refillSoon();
    for (let i = 0; i < 200 && warned === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(warned, 1, 'the failed refill is reported');
    assert.ok(fs.existsSync(path.join(dir, '100')), 'the first chunk was created before its sync failed');
    assert.equal(await pool.take(100), MAKE_IT);
    assert.equal(await pool.take(100), undefined, 'answered once');
    assert.equal(await pool.take(130), undefined, 'a later chunk was never started');
    await pool.close();
  });

  it('discard closes the descriptor of a removed number; close() closes the rest', async () => {
    const { pool } = await filledPool(dir, 1);
    await pool.discard(3);
    assert.equal(await pool.take(3), undefined);
    await pool.close();
    assert.equal(await pool.take(4), undefined);
  });
});

describe('cache file system: prepared data files', () => {
  it('new files written by many clients at once, taken before, during and after refills, keep every byte', async () => {
    const t = await freshFs();
    try {
      const bodies = new Map<number, Buffer>();
      let next = 0;
      // 32 writers at a time catch up with the refills: numbers are taken from ready, from the
      // chunk being made (wait for it) and from chunks not started (withdrawn, made by the taker).
      await Promise.all(Array.from({ length: 32 }, async () => {
        while (next < 600) {
          const i = next++;
          const { ino } = await t.fs.create(ROOT, 1, `c${i}`, { kind: 'guarded', attributes: { mode: 0o644 } });
          const body = randomBytes(1 + (i * 7919) % 5000);
          await t.fs.write(ROOT, ino, 0, body, 'file-sync');
          bodies.set(ino, body);
        }
      }));
      await t.reopen();
      for (const [ino, body] of bodies) assert.deepEqual((await t.fs.read(ROOT, ino, 0, 8192)).data, body, `file ${ino}`);
    } finally {
      await t.cleanup();
    }
  });

  it('a new file written with FILE_SYNC uses its prepared data file and keeps every byte across a restart', async () => {
    const t = await freshFs();
    try {
      const bodies = new Map<number, Buffer>();
      for (let i = 0; i < 100; i++) {
        const { ino } = await t.fs.create(ROOT, 1, `f${i}`, { kind: 'guarded', attributes: { mode: 0o644 } });
        const body = randomBytes(1 + (i * 997) % 9000);
        await t.fs.write(ROOT, ino, 0, body, 'file-sync');
        bodies.set(ino, body);
      }
      const dataFile = (ino: number) => dataFilePath(path.join(t.dir, 'data'), ino, 2);
      const [last] = [...bodies.keys()].slice(-1);
      await prepared(dataFile((last as number) + 5));
      // A directory made from a prepared number never shows a data file once allocation moved on.
      const dirIno = (await t.fs.mkdir(ROOT, 1, 'sub', { mode: 0o755 })).ino;
      for (let i = 0; i < 150; i++) { // past the default depth (128)
        const { ino } = await t.fs.create(ROOT, 1, `g${i}`, { kind: 'guarded', attributes: { mode: 0o644 } });
        await t.fs.write(ROOT, ino, 0, Buffer.from('x'), 'file-sync');
      }
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(fs.existsSync(dataFile(dirIno)), false, 'a directory kept a prepared data file');
      await t.reopen();
      for (const [ino, body] of bodies) {
        const r = await t.fs.read(ROOT, ino, 0, 16384);
        assert.deepEqual(r.data, body, `file ${ino}`);
        assert.equal(r.eof, true);
      }
    } finally {
      await t.cleanup();
    }
  });
});
