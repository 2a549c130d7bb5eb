import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { dataFilePath } from './data/data-store';
import { openCacheFileSystem } from './index';
import { CHUNK, pattern } from './crash-writer.fixture';
import { readAcks } from '../../test/support/acks';
import { expectCode, freshFs, makeDir, makeFile, names, quietLog, ROOT, tempDir, type TestFs } from './test-helpers';

describe('cache file system: persistence', () => {
  let t: TestFs;
  beforeEach(async () => {
    t = await freshFs();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('reopens with the same tree, inode numbers, generations and data', async () => {
    const d = await makeDir(t.fs, 1, 'd');
    const f = await makeFile(t.fs, d, 'f', { content: Buffer.from('persisted') });
    const s = await t.fs.symlink(ROOT, d, 's', 'f', {});
    await t.fs.link(ROOT, f, 1, 'hard');
    const before = await Promise.all([d, f, s.ino].map((i) => t.fs.getattr(i)));
    await t.reopen();
    const after = await Promise.all([d, f, s.ino].map((i) => t.fs.getattr(i)));
    assert.deepEqual(after, before);
    assert.equal((await t.fs.lookup(ROOT, d, 'f')).ino, f);
    assert.equal((await t.fs.read(ROOT, f, 0, 100)).data.toString(), 'persisted');
    assert.equal((await t.fs.readlink(ROOT, s.ino)).target, 'f');
    assert.deepEqual(await names(t.fs, d), ['.', '..', 'f', 's']);
    assert.equal((await t.fs.getattr(f)).nlink, 2);
  });

  it('keeps unstable writes and their size over a clean close', async () => {
    const f = await makeFile(t.fs, 1, 'f');
    await t.fs.write(ROOT, f, 0, Buffer.alloc(100_000, 3), 'unstable');
    await t.fs.write(ROOT, f, 5_000_000, Buffer.from('end'), 'unstable');
    const a = await t.fs.getattr(f);
    await t.reopen();
    const b = await t.fs.getattr(f);
    assert.equal(b.size, 5_000_003);
    assert.deepEqual(b.mtime, a.mtime, 'a clean close needs no recovery');
    assert.equal((await t.fs.read(ROOT, f, 5_000_000, 10)).data.toString(), 'end');
  });

  it('counts a file\'s space once after unstable writes, COMMIT and a reopen', async () => {
    // Regression: COMMIT saved the file twice in one transaction and each save charged its
    // bytes again, so FSSTAT (and the CSI volume stats) doubled after a restart.
    const used = async (): Promise<number> => {
      const s = await t.fs.fsstat(1);
      return s.totalBytes - s.freeBytes;
    };
    await t.reopen({ capacityBytes: 1 << 30 });
    const f = await makeFile(t.fs, 1, 'f');
    for (let i = 0; i < 4; i++) await t.fs.write(ROOT, f, i << 20, Buffer.alloc(1 << 20, 7), 'unstable');
    await t.fs.commit(ROOT, f, 0, 0);
    assert.equal(await used(), 4 << 20);
    await t.reopen({ capacityBytes: 1 << 30 });
    assert.equal(await used(), 4 << 20);
    await t.fs.remove(ROOT, 1, 'f');
    assert.equal(await used(), 0);
  });

  it('[error] ESTALE for removed inodes and for a wrong generation; inode numbers are never reused', async () => {
    const f = await makeFile(t.fs, 1, 'f');
    const gen = (await t.fs.getattr(f)).generation;
    await t.fs.getattr(f, gen);
    await expectCode(t.fs.getattr(f, (gen + 1) >>> 0), 'ESTALE');
    await t.fs.remove(ROOT, 1, 'f');
    await expectCode(t.fs.getattr(f, gen), 'ESTALE');
    await expectCode(t.fs.read(ROOT, f, 0, 1), 'ESTALE');
    await expectCode(t.fs.write(ROOT, f, 0, Buffer.from('x'), 'unstable'), 'ESTALE');
    await expectCode(t.fs.setattr(ROOT, f, { mode: 0o600 }), 'ESTALE');
    await expectCode(t.fs.commit(ROOT, f, 0, 0), 'ESTALE');
    await expectCode(t.fs.lookup(ROOT, f, 'x'), 'ESTALE');
    const g = await makeFile(t.fs, 1, 'g');
    assert.ok(g > f);
    await t.reopen();
    const h = await makeFile(t.fs, 1, 'h');
    assert.ok(h > g, 'the inode counter persists');
    await expectCode(t.fs.getattr(f), 'ESTALE');
  });

  it('frees the data file when the last link goes, and cleans up orphans after a crash', async () => {
    const f = await makeFile(t.fs, 1, 'f', { content: Buffer.from('x') });
    // (Its shard directory also holds files prepared for the next numbers, data-file-pool.ts.)
    const dataFile = dataFilePath(path.join(t.dir, 'data'), f, 2);
    assert.equal(fs.readFileSync(dataFile, 'utf8'), 'x');
    await t.fs.remove(ROOT, 1, 'f');
    // Unlinked once removes pause (deferred-frees.ts; the orphan mark covers a crash).
    assert.ok(fs.existsSync(dataFile), 'not while the client may send the next remove');
    await sleep(150);
    await t.fs.flush();
    assert.equal(fs.existsSync(dataFile), false);
  });

  it('refuses a second open of the same directory', async () => {
    await expectCode(openCacheFileSystem({ dir: t.dir }), 'EIO');
  });

  it('does not leak file descriptors', async () => {
    await t.cleanup();
    const count = () => fs.readdirSync('/proc/self/fd').length;
    const before = count();
    const dir = tempDir();
    try {
      const f = await openCacheFileSystem({ dir, maxOpenFiles: 8, logger: quietLog });
      const inos: number[] = [];
      for (let i = 0; i < 40; i++) inos.push((await f.create(ROOT, 1, `f${i}`, { kind: 'unchecked', attributes: { mode: 0o644 } })).ino);
      await Promise.all(inos.map((ino, i) => f.write(ROOT, ino, 0, Buffer.alloc(1000, i), i % 2 ? 'unstable' : 'file-sync')));
      for (const ino of inos) await f.read(ROOT, ino, 0, 1000);
      await Promise.all(inos.slice(0, 20).map((ino) => f.commit(ROOT, ino, 0, 0)));
      assert.ok(f.openDataFiles <= 8, `descriptors kept: ${f.openDataFiles}`);
      for (let i = 0; i < 10; i++) await f.remove(ROOT, 1, `f${i}`);
      await f.setattr(ROOT, inos[15]!, { size: 1 });
      await f.close();
      assert.equal(count(), before);
      const again = await openCacheFileSystem({ dir, maxOpenFiles: 8, logger: quietLog });
      for (const ino of inos.slice(10)) await again.read(ROOT, ino, 0, 10);
      await again.close();
      assert.equal(count(), before);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      t = await freshFs();
    }
  });
});

describe('cache file system: durability after kill -9', function () {
  this.timeout(60_000);

  for (const n of [40, 300]) {
  it(`keeps every acknowledged entry and byte when the process is killed mid-stream (after ${n} acks)`, async () => {
    const dir = tempDir();
    try {
      const acks = await runAndKill(dir, n);
      const f = await openCacheFileSystem({ dir, logger: quietLog });
      try {
        await checkAcknowledged(f, acks);
      } finally {
        await f.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  }
});

type Ack = Record<string, unknown> & { op: string };

/** Runs the crash writer until it acknowledged `n` operations (not counting the unstable stream), then SIGKILLs it. */
function runAndKill(dir: string, n: number): Promise<Ack[]> {
  const script = path.join(__dirname, 'crash-writer.fixture.js');
  const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acks: Ack[] = [];
  let counted = 0;
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    readAcks<Ack>(child.stdout, (a) => {
      acks.push(a);
      if (a.op !== 'unstable-write' && ++counted === n) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acks);
      else reject(new Error(`crash writer exited ${code}: ${stderr}`));
    });
  });
}

async function checkAcknowledged(f: Awaited<ReturnType<typeof openCacheFileSystem>>, acks: Ack[]): Promise<void> {
  const work = acks.find((a) => a.op === 'mkdir' && a.name === 'work')!;
  const wino = work.ino as number;
  await f.getattr(wino, work.gen as number);
  const nameOf = new Map<number, string>();
  const durableChunks = new Map<number, Set<number>>();
  const fileNoOf = new Map<number, number>();
  let unstable: { ino: number; chunks: number } | undefined;
  for (const a of acks) {
    const ino = a.ino as number;
    if (a.op === 'create') {
      nameOf.set(ino, a.name as string);
      await f.getattr(ino, a.gen as number);
    } else if (a.op === 'rename') nameOf.set(ino, a.to as string);
    else if (a.op === 'mkdir' && a.name !== 'work') {
      assert.equal((await f.lookup(ROOT, wino, a.name as string)).ino, ino);
    } else if (a.op === 'write') {
      fileNoOf.set(ino, a.fileNo as number);
      if (a.committed === 'file-sync') (durableChunks.get(ino) ?? durableChunks.set(ino, new Set()).get(ino)!).add(a.chunk as number);
    } else if (a.op === 'commit') {
      const set = durableChunks.get(ino) ?? durableChunks.set(ino, new Set()).get(ino)!;
      for (let k = 0; k < (a.chunks as number); k++) set.add(k);
    } else if (a.op === 'unstable-write') {
      unstable = { ino, chunks: (a.chunk as number) + 1 };
    }
  }
  for (const [ino, name] of nameOf) {
    // A rename may have been done (and be durable) without its acknowledgement getting out.
    const found = await f.lookup(ROOT, wino, name).catch(() => f.lookup(ROOT, wino, `${name}.renamed`));
    assert.equal(found.ino, ino, `entry ${name}`);
  }
  let checked = 0;
  for (const [ino, chunks] of durableChunks) {
    for (const k of chunks) {
      const r = await f.read(ROOT, ino, k * CHUNK, CHUNK);
      assert.ok(r.data.equals(pattern(fileNoOf.get(ino)!, k)), `file ${ino} chunk ${k}`);
      checked++;
    }
  }
  assert.ok(checked > 0, 'no chunk was acknowledged as durable');
  // A killed process loses nothing from the page cache: even unstable writes are there, and
  // the file they extended has the size they gave it (recovery takes it from the data file).
  if (unstable) {
    const a = await f.getattr(unstable.ino);
    assert.ok(a.size >= unstable.chunks * CHUNK, `unstable file size ${a.size}`);
    for (let k = 0; k < unstable.chunks; k++) {
      assert.ok((await f.read(ROOT, unstable.ino, k * CHUNK, CHUNK)).data.equals(pattern(-1, k)), `unstable chunk ${k}`);
    }
  }
}
