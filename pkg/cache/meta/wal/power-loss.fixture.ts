// Child process for the power-loss test (wal-power-loss.test.ts): builds a tree, closes the file
// system cleanly, copies LMDB's data.mdb as it is then (a moment when it is durable: the close
// checkpointed it), reopens and runs every kind of metadata operation at concurrency 1, each
// awaited (acknowledged). Then it prints the tree as it sees it, "done", and waits to be killed.
//   S3FILES_METADATA_WAL=1 S3FILES_WAL_CHECKPOINT_MS=3600000 node power-loss.fixture.js DIR SNAPSHOT
import fs from 'node:fs';
import path from 'node:path';
import type { Credentials } from '../../../vfs';
import { openCacheFileSystem, type CacheFileSystem } from '../../index';
import { quietLog } from '../../test-helpers';

const root: Credentials = { uid: 0, gid: 0, gids: [] };

/** name → attributes that matter, for every entry under `dir`, recursively. */
export async function describeTree(fsys: CacheFileSystem, dir: number, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const r = await fsys.readdir(root, dir, { cookie: 0n, verifier: Buffer.alloc(8), maxEntries: 10_000, withAttributes: true });
  for (const e of r.entries) {
    if (e.name === '.' || e.name === '..') continue;
    const a = e.attributes!;
    const name = `${prefix}/${e.name}`;
    out[name] = JSON.stringify({ ino: e.ino, type: a.type, mode: a.mode, nlink: a.nlink, size: a.size, uid: a.uid, mtime: a.mtime, ctime: a.ctime });
    if (a.type === 'dir') Object.assign(out, await describeTree(fsys, e.ino, name));
  }
  return out;
}

async function operations(fsys: CacheFileSystem): Promise<void> {
  const top = fsys.rootIno;
  const a = await fsys.mkdir(root, top, 'a', { mode: 0o755 });
  const b = await fsys.mkdir(root, top, 'b', { mode: 0o700 });
  for (let i = 0; i < 40; i++) {
    const f = await fsys.create(root, a.ino, `f${i}`, { kind: 'guarded', attributes: { mode: 0o644 } });
    if (i % 3 === 0) await fsys.write(root, f.ino, 0, Buffer.alloc(1000 + i * 100, i), 'file-sync');
    if (i % 3 === 1) {
      await fsys.write(root, f.ino, 4096, Buffer.alloc(5000, i), 'unstable');
      await fsys.commit(root, f.ino, 0, 0);
    }
  }
  for (let i = 0; i < 40; i += 4) await fsys.rename(root, a.ino, `f${i}`, b.ino, `moved${i}`);
  for (let i = 1; i < 40; i += 5) if (i % 4 !== 0) await fsys.remove(root, a.ino, `f${i}`);
  const f7 = await fsys.lookup(root, a.ino, 'f7');
  await fsys.setattr(root, f7.ino, { mode: 0o600, mtime: { sec: 1_000_000, nsec: 5 } });
  const f10 = await fsys.lookup(root, a.ino, 'f10');
  await fsys.setattr(root, f10.ino, { size: 10 });
  const f13 = await fsys.lookup(root, a.ino, 'f13');
  await fsys.link(root, f13.ino, b.ino, 'hard13');
  await fsys.symlink(root, b.ino, 'link', '../a/f2', { mode: 0o777 });
  const c = await fsys.mkdir(root, top, 'c', { mode: 0o755 });
  await fsys.create(root, c.ino, 'x', { kind: 'guarded', attributes: { mode: 0o644 } });
  await fsys.remove(root, c.ino, 'x');
  await fsys.rmdir(root, top, 'c');
  await fsys.rename(root, top, 'b', a.ino, 'b-inside-a');
  // Attributes kept in memory (a WRITE's size, atime) go to LMDB now, as the periodic flush would.
  await fsys.flush();
}

async function main(): Promise<void> {
  const [dir, snapshot] = process.argv.slice(2) as [string, string];
  let fsys = await openCacheFileSystem({ dir, logger: quietLog, flushIntervalMs: 3_600_000 });
  await fsys.mkdir(root, fsys.rootIno, 'before', { mode: 0o755 });
  await fsys.close();
  fs.copyFileSync(path.join(dir, 'meta', 'data.mdb'), snapshot);
  fsys = await openCacheFileSystem({ dir, logger: quietLog, flushIntervalMs: 3_600_000 });
  await operations(fsys);
  process.stdout.write(`tree ${JSON.stringify(await describeTree(fsys, fsys.rootIno))}\n`);
  process.stdout.write('done\n');
  await new Promise(() => setInterval(() => undefined, 1000));
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`power-loss fixture failed: ${String(err)}\n`);
    process.exit(2);
  });
}
