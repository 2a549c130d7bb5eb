// How to make an LMDB metadata change durable quickly (the choice in pkg/cache/meta/metadata-store.ts):
//   npx tsc -p . && node dist/bench/cache-metadata-sync.js [ops] [filter]
// Each operation is one transaction of one get and two puts, awaited until durable; reported
// per concurrency level: throughput, median latency and main-thread time per operation.
// The last two rows are MetadataStore.transact itself: synced commits (the store on file
// systems under 1 GiB, and before the log) and the redo log + checkpoints (the default).
// `filter` runs only the variants whose name contains it (e.g. "MetadataStore").
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { open, type RootDatabase, type RootDatabaseOptions } from 'lmdb';
import { MetadataStore } from '../pkg/cache/meta/metadata-store';
import { logger } from '../pkg/log/logger';

type Op = (db: RootDatabase, k: number) => Promise<unknown> | undefined;

const record = (k: number) => ({ ino: k, mode: 0o644, uid: 0, gid: 0, size: k * 10, mtime: { sec: 1, nsec: 2 }, nlink: 1 });
const body = (db: RootDatabase, k: number) => () => {
  db.get(k - 1);
  db.putSync(k, record(k));
  db.putSync(['d', k], { ino: k, cookie: k });
};

const variants: Array<[string, RootDatabaseOptions, Op]> = [
  ['transactionSync + await flushed (overlap)', {}, (db, k) => {
    db.transactionSync(body(db, k));
    return db.flushed as unknown as Promise<unknown>;
  }],
  ['transaction + await flushed (overlap)', {}, (db, k) => db.transaction(body(db, k)).then(() => db.flushed)],
  ['transaction(transactionSync), no overlap', { overlappingSync: false }, (db, k) => db.transaction(() => db.transactionSync(body(db, k)))],
  ['same, eventTurnBatching: false (chosen)', { overlappingSync: false, eventTurnBatching: false }, (db, k) =>
    db.transaction(() => db.transactionSync(body(db, k)))],
];

type StoreOp = (s: MetadataStore, k: number) => Promise<unknown>;

const storeBody = (s: MetadataStore, k: number) => () => {
  s.inodes.get(k - 1);
  s.inodes.putSync(k, record(k) as never);
  s.dirents.putSync([1, `n${k}`], { ino: k, cookie: k });
};

const storeVariants: Array<[string, boolean]> = [
  ['MetadataStore, synced commits (before)', false],
  ['MetadataStore, redo log + checkpoints (now)', true],
];

async function measureStore(name: string, wal: boolean, n: number, conc: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmdb-sync-'));
  const store = MetadataStore.open(dir, { wal, logger: logger('bench') });
  const op: StoreOp = (s, k) => s.transact(storeBody(s, k));
  await run(name, n, conc, (k) => op(store, k));
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

async function run(name: string, n: number, conc: number, op: (k: number) => Promise<unknown> | undefined): Promise<void> {
  let next = 0;
  let mainThread = 0;
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < n) {
      const k = next++;
      const start = performance.now();
      const p = op(k);
      mainThread += performance.now() - start;
      await p;
      lat.push(performance.now() - start);
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const p50 = lat[lat.length >> 1]! * 1000;
  console.log(`${name.padEnd(44)} conc ${String(conc).padStart(3)}: ${(n / secs).toFixed(0).padStart(6)} ops/s, p50 ${p50.toFixed(0).padStart(6)} µs, main thread ${((mainThread / n) * 1000).toFixed(0)} µs/op`);
}

async function measure(name: string, opts: RootDatabaseOptions, op: Op, n: number, conc: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmdb-sync-'));
  const db = open(dir, opts);
  await run(name, n, conc, (k) => op(db, k));
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 3000);
  const filter = process.argv[3] ?? '';
  for (const conc of [1, 4, 32, 128]) {
    const count = conc === 1 ? Math.min(n, 1000) : n;
    for (const [name, opts, op] of variants) if (name.includes(filter)) await measure(name, opts, op, count, conc);
    for (const [name, wal] of storeVariants) if (name.includes(filter)) await measureStore(name, wal, count, conc);
  }
}

void main();
