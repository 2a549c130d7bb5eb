// Micro-benchmark of the cache file system (pkg/cache) on the local disk, without NFS:
//   npx tsc -p . && node dist/bench/cache-fs-bench.js [dir]
// Prints throughput of the operations the NFS server leans on. Numbers depend on the disk.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openCacheFileSystem, type CacheFileSystem } from '../pkg/cache';
import type { Credentials } from '../pkg/vfs';

const root: Credentials = { uid: 0, gid: 0, gids: [] };

async function timed(label: string, n: number, unit: string, fn: () => Promise<void>): Promise<void> {
  const t0 = performance.now();
  await fn();
  const s = (performance.now() - t0) / 1000;
  console.log(`${label.padEnd(46)} ${(n / s).toFixed(0).padStart(9)} ${unit}`);
}

async function pool(n: number, conc: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < n) await fn(next++);
  }));
}

async function run(f: CacheFileSystem): Promise<void> {
  const mib = Buffer.alloc(1024 * 1024, 7);
  const small = Buffer.alloc(4096, 3);
  const big = await f.create(root, 1, 'big', { kind: 'unchecked', attributes: { mode: 0o644 } });
  await timed('1 MiB unstable writes, sequential (256 MiB)', 256, 'MiB/s', async () => {
    for (let i = 0; i < 256; i++) await f.write(root, big.ino, i * mib.length, mib, 'unstable');
    await f.commit(root, big.ino, 0, 0);
  });
  await timed('1 MiB reads, sequential (256 MiB)', 256, 'MiB/s', async () => {
    for (let i = 0; i < 256; i++) await f.read(root, big.ino, i * mib.length, mib.length);
  });
  const s = await f.create(root, 1, 'small', { kind: 'unchecked', attributes: { mode: 0o644 } });
  await timed('4 KiB unstable writes, 16 in flight', 20000, 'ops/s', () =>
    pool(20000, 16, (i) => f.write(root, s.ino, (i % 4096) * 4096, small, 'unstable')));
  await timed('4 KiB file-sync writes, 1 in flight', 300, 'ops/s', () => pool(300, 1, (i) => f.write(root, s.ino, i * 4096, small, 'file-sync')));
  await timed('4 KiB file-sync writes, 16 in flight', 2000, 'ops/s', () => pool(2000, 16, (i) => f.write(root, s.ino, i * 4096, small, 'file-sync')));
  const d = await f.mkdir(root, 1, 'd', { mode: 0o755 });
  await timed('create, 1 in flight', 1000, 'ops/s', () =>
    pool(1000, 1, (i) => f.create(root, d.ino, `a${i}`, { kind: 'guarded', attributes: { mode: 0o644 } })));
  await timed('create, 32 in flight', 10000, 'ops/s', () =>
    pool(10000, 32, (i) => f.create(root, d.ino, `b${i}`, { kind: 'guarded', attributes: { mode: 0o644 } })));
  await timed('getattr', 200000, 'ops/s', () => pool(200000, 1, (i) => f.getattr(2 + (i % 1000))));
  await timed('lookup', 100000, 'ops/s', () => pool(100000, 1, (i) => f.lookup(root, d.ino, `b${i % 10000}`)));
  await timed('readdirplus of 11,000 entries (pages of 100)', 11000, 'entries/s', async () => {
    let cookie = 0n;
    let verifier: Buffer = Buffer.alloc(8);
    for (;;) {
      const r = await f.readdir(root, d.ino, { cookie, verifier, maxEntries: 100, withAttributes: true });
      if (r.eof) break;
      cookie = r.entries[r.entries.length - 1]!.cookie;
      verifier = r.verifier;
    }
  });
  await timed('remove, 1 in flight (rm -rf)', 1000, 'ops/s', () => pool(1000, 1, (i) => f.remove(root, d.ino, `a${i}`)));
  await timed('remove, 32 in flight', 10000, 'ops/s', () => pool(10000, 32, (i) => f.remove(root, d.ino, `b${i}`)));
}

async function main(): Promise<void> {
  const dir = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cache-bench-'));
  const f = await openCacheFileSystem({ dir });
  try {
    await run(f);
  } finally {
    await f.close();
    if (!process.argv[2]) fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
