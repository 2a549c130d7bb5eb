// Child process for reconcile-disk-full.test.ts, run in a private mount namespace with the cache
// directory on a small tmpfs and the bucket (a FolderStore) on the ordinary disk: a linked export
// whose cache disk fills up, first with committed local data, then completely (someone else's
// file). Reports, as one JSON line, what each operation returned ('ok', 'bytes-ok', or the
// error code; never wrong bytes), and what is in the bucket once the space came back.
//   node reconcile-disk-full.fixture.js CACHE_DIR STORE_DIR
import { createHash } from 'node:crypto';
import nodeFs from 'node:fs';
import path from 'node:path';
import { isFsError } from '../../pkg/vfs';
import { openLinkedExport } from '../../pkg/reconcile';
import { FolderStore } from '../../pkg/s3/folder-store';
import { ROOT, listNames, quietLog, resolve } from '../support/linked-fs';

const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const SIZE = 2 * MiB;
const remote = (i: number) => Buffer.alloc(SIZE, `remote file ${i} `);

function code(err: unknown): string {
  return isFsError(err) ? err.code : `not an FsError: ${String(err)}`;
}

async function outcome(fn: () => Promise<unknown>): Promise<string> {
  try {
    const r = await fn();
    return typeof r === 'string' ? r : 'ok';
  } catch (err) {
    return code(err);
  }
}

async function main(): Promise<void> {
  const [cacheDir, storeDir] = process.argv.slice(2) as [string, string];
  const store = await FolderStore.open(storeDir);
  for (let i = 0; i < 6; i++) await store.put(`vol/r${i}`, remote(i));
  for (let i = 0; i < 20; i++) await store.put(`vol/sub/s${i}`, Buffer.from(`small ${i}`));
  for (let i = 0; i < 5; i++) await store.put(`vol/sub2/t${i}`, Buffer.from(`small ${i}`));
  const ex = await openLinkedExport({ cacheDir, store, prefix: 'vol/', linkId: 'disk-full-test', syncDelayMs: 50, logger: quietLog, reconciler: { retryBaseMs: 50, retryMaxMs: 500 } });
  const fs = ex.fs;
  const out: Record<string, unknown> = {};
  /** Reads the whole of remote file i; 'bytes-ok' if they are right, 'WRONG' if not. */
  const readRemote = (i: number) =>
    outcome(async () => {
      const ino = await resolve(fs, `r${i}`);
      const parts: Buffer[] = [];
      for (let off = 0; off < SIZE; off += MiB) parts.push((await fs.read(ROOT, ino, off, MiB)).data);
      return md5(Buffer.concat(parts)) === md5(remote(i)) ? 'bytes-ok' : 'WRONG';
    });
  out.cachedRead = await readRemote(0); // r0 is cached: clean data the disk can give back

  // 1. Committed local data fills the disk (the metadata reserve is left).
  const local = await fs.create(ROOT, fs.rootIno, 'local.bin', { kind: 'unchecked', attributes: { mode: 0o644 } });
  const chunk = Buffer.alloc(256 * 1024, 0x6c);
  let written = 0;
  for (;;) {
    try {
      await fs.write(ROOT, local.ino, written, chunk, 'unstable');
      written += chunk.length;
    } catch (err) {
      out.writeError = code(err);
      break;
    }
  }
  out.commit = await outcome(() => fs.commit(ROOT, local.ino, 0, 0));
  out.written = written;
  out.readWhenDataFull = await readRemote(1);
  out.listWhenDataFull = await outcome(async () => `${(await listNames(fs, 'sub')).length} names`);
  // The read found no room: clean cached data (r0) is evicted in the background, and reads
  // are cached again.
  for (let i = 0; i < 50 && fs.sync!.counters().evictedFiles === 0; i++) await new Promise((r) => setTimeout(r, 20));
  out.evictedWhenDataFull = fs.sync!.counters().evictedFiles;
  out.readAfterRelief = await readRemote(4);
  const fetched = fs.sync!.counters().fetchedBytes;
  out.readAfterReliefAgain = await readRemote(4);
  out.cachedAfterRelief = fs.sync!.counters().fetchedBytes === fetched;

  // 2. Someone else takes the rest: nothing can be written to the cache disk at all.
  const filler = path.join(path.dirname(cacheDir), 'external');
  const fd = nodeFs.openSync(filler, 'w');
  try {
    for (;;) nodeFs.writeSync(fd, Buffer.alloc(64 * 1024));
  } catch {
    nodeFs.closeSync(fd);
  }
  const whenFull: Record<string, string> = {};
  whenFull.read = await readRemote(2);
  whenFull.readAgain = await readRemote(2);
  whenFull.localRead = await outcome(async () => ((await fs.read(ROOT, local.ino, 0, chunk.length)).data.equals(chunk) ? 'bytes-ok' : 'WRONG'));
  whenFull.mkdir = await outcome(() => fs.mkdir(ROOT, fs.rootIno, 'newdir', { mode: 0o755 }));
  // A directory never listed: its listing cannot be recorded.
  whenFull.list = await outcome(async () => `${(await listNames(fs, 'sub2')).length} names`);
  await new Promise((r) => setTimeout(r, 500)); // the reconciler tries to upload local.bin meanwhile
  out.whenFull = whenFull;

  // 3. Space comes back: everything committed reaches the bucket, reads cache again.
  nodeFs.unlinkSync(filler);
  await ex.reconciler.drain(60_000);
  const obj = await store.getBuffer('vol/local.bin').catch(() => undefined);
  out.uploaded = obj !== undefined && obj.data.length === written && obj.data.equals(Buffer.alloc(written, 0x6c));
  await fs.remove(ROOT, fs.rootIno, 'local.bin');
  await ex.reconciler.drain(60_000);
  out.afterRead = await readRemote(3);
  const before = fs.sync!.counters().fetchedBytes;
  out.afterReadAgain = await readRemote(3);
  out.cachedAfter = fs.sync!.counters().fetchedBytes === before;
  out.listAfter = await outcome(async () => `${(await listNames(fs, 'sub2')).length} names`);
  out.afterMkdir = await outcome(() => fs.mkdir(ROOT, fs.rootIno, 'after', { mode: 0o755 }));
  await ex.reconciler.drain(60_000);
  out.evicted = fs.sync!.counters().evictedFiles;
  await ex.close();
  const keys = (await store.list({ prefix: 'vol/', delimiter: '/' })).commonPrefixes;
  out.dirsInBucket = keys.map((k) => k.slice(4)).sort();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err) => {
  process.stdout.write(`${JSON.stringify({ crashed: String(err), stack: (err as Error).stack })}\n`);
  process.exit(3);
});
