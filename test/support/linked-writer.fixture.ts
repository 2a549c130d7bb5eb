// Child process for the kill -9 test of linked exports (test/integration/reconcile-crash.test.ts):
// a linked cache file system over S3Store on a real RGW, with a write storm (small files written
// unstable + COMMIT or file-sync, renames, deletes, mkdirs, and one large file growing past the
// multipart threshold). Prints "ack {json}" after each acknowledged operation, and keeps syncing
// until it is killed with SIGKILL.
//   node linked-writer.fixture.js CONFIG_JSON            (mode "storm" or "sync-only")
import { openLinkedExport } from '../../pkg/reconcile';
import { S3Store } from '../../pkg/s3/s3-store';
import type { Credentials } from '../../pkg/vfs';
import type { CacheFileSystem } from '../../pkg/cache';
import { ack } from './acks';

export const CHUNK = 64 * 1024;
export const BIG_CHUNK = 1024 * 1024;

export interface WriterConfig {
  mode: 'storm' | 'sync-only';
  cacheDir: string;
  endpoint: string;
  bucket: string;
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** Deterministic content of chunk `chunk` of file `fileNo`. */
export function pattern(fileNo: number, chunk: number, size = CHUNK): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) b.writeUInt32LE(((fileNo * 7919 + chunk) * 2654435761 + i) >>> 0, i);
  return b;
}

const root: Credentials = { uid: 0, gid: 0, gids: [] };

async function worker(fs: CacheFileSystem, w: number, dirIno: number): Promise<void> {
  for (let n = 0; ; n++) {
    const fileNo = w * 1_000_000 + n;
    const name = `f${fileNo}`;
    const c = await fs.create(root, dirIno, name, { kind: 'guarded', attributes: { mode: 0o644 } });
    ack({ op: 'create', fileNo, name });
    const chunks = 1 + (n % 5);
    const stable = n % 2 === 0;
    for (let k = 0; k < chunks; k++) {
      await fs.write(root, c.ino, k * CHUNK, pattern(fileNo, k), stable ? 'file-sync' : 'unstable');
      if (stable) ack({ op: 'write', fileNo, chunk: k });
    }
    if (!stable) {
      await fs.commit(root, c.ino, 0, 0);
      ack({ op: 'commit', fileNo, chunks });
    }
    if (n % 4 === 3) {
      await fs.rename(root, dirIno, name, dirIno, `${name}.renamed`);
      ack({ op: 'rename', fileNo, from: name, to: `${name}.renamed` });
    }
    if (n % 6 === 5) {
      await fs.remove(root, dirIno, `f${fileNo - 1}`);
      ack({ op: 'remove', fileNo: fileNo - 1, name: `f${fileNo - 1}` });
    }
    if (n % 7 === 6) {
      await fs.mkdir(root, dirIno, `d${fileNo}`, { mode: 0o755 });
      ack({ op: 'mkdir', name: `d${fileNo}` });
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** One file that keeps growing by 1 MiB stable writes: multipart uploads get cut by the kill. */
async function bigWriter(fs: CacheFileSystem, dirIno: number): Promise<void> {
  const c = await fs.create(root, dirIno, 'big', { kind: 'guarded', attributes: { mode: 0o644 } });
  ack({ op: 'create', fileNo: -1, name: 'big' });
  for (let k = 0; k < 48; k++) {
    await fs.write(root, c.ino, k * BIG_CHUNK, pattern(-1, k, BIG_CHUNK), 'file-sync');
    ack({ op: 'write', fileNo: -1, chunk: k, big: true });
    await new Promise((r) => setTimeout(r, 40));
  }
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2]!) as WriterConfig;
  const store = new S3Store({
    bucket: cfg.bucket, endpoint: cfg.endpoint, region: cfg.region, forcePathStyle: true,
    credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey },
  });
  await store.detectCapabilities();
  const ex = await openLinkedExport({
    cacheDir: cfg.cacheDir, store, prefix: cfg.prefix, linkId: `crash-test:${cfg.prefix}`, syncDelayMs: 50,
    reconciler: { tuning: { multipartThreshold: 8 * 1024 * 1024, partSize: 5 * 1024 * 1024 } },
  });
  ack({ op: 'open' });
  if (cfg.mode === 'sync-only') {
    setInterval(() => undefined, 1000); // the reconciler (unref'd timers) keeps going until the kill
    return;
  }
  const fs = ex.fs;
  const d = await fs.mkdir(root, fs.rootIno, 'work', { mode: 0o755 });
  ack({ op: 'mkdir', name: 'work' });
  await Promise.all([worker(fs, 1, d.ino), worker(fs, 2, d.ino), worker(fs, 3, d.ino), bigWriter(fs, d.ino)]);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`linked-writer failed: ${String(err)}\n`);
    process.exit(2);
  });
}
