// Child process for reconcile-recovery.test.ts: a linked export (FolderStore) whose file is
// written again while its upload is on the wire, the upload then recorded, and the process
// killed (SIGKILL, by itself) before the in-memory attributes reach LMDB. Prints "ack {json}"
// after each acknowledged write.
//   node reconcile-recovery.fixture.js CONFIG_JSON
// Both writes are file-sync writes to a file with a durable dirty mark (new files have one):
// acknowledged after their fdatasync alone, their size and data version only in memory
// (pkg/cache/ops/data.ts). The upload records the version it read as synced.
import { openLinkedExport } from '../../pkg/reconcile';
import { FolderStore } from '../../pkg/s3/folder-store';
import type { PutOptions } from '../../pkg/s3/object-store';
import type { Credentials } from '../../pkg/vfs';
import { ack } from '../support/acks';
import { withPut } from '../support/put-hook';

export interface RecoveryConfig {
  storeDir: string;
  cacheDir: string;
  /** What the write during the upload does: append a second chunk, or rewrite the first one. */
  second: 'extend' | 'overwrite';
}

export const CHUNK = 256 * 1024;
export const chunkOf = (k: number): Buffer => Buffer.alloc(CHUNK, 0x41 + k);

const root: Credentials = { uid: 0, gid: 0, gids: [] };

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2]!) as RecoveryConfig;
  const inner = await FolderStore.open(cfg.storeDir);
  let duringUpload: (() => Promise<void>) | undefined;
  /** The ETag of the upload during which the second write happened. */
  let landed: string | undefined;
  // The real store; the first PUT of `f` holding the first write (an upload of the still empty
  // file may come before it) lets the second write happen while it is on the wire.
  const store = withPut(inner, async (key: string, body: Buffer, opts?: PutOptions) => {
    const during = body.length === CHUNK ? duringUpload : undefined;
    if (!during) return inner.put(key, body, opts);
    duringUpload = undefined;
    await during();
    const r = await inner.put(key, body, opts);
    landed = r.etag;
    return r;
  });
  // No periodic flush: the kill must find LMDB as the writes left it.
  const ex = await openLinkedExport({ cacheDir: cfg.cacheDir, store, prefix: '', linkId: 'recovery-test', syncDelayMs: 20, flushIntervalMs: 3_600_000 });
  const fs = ex.fs;
  const f = await fs.create(root, fs.rootIno, 'f', { kind: 'guarded', attributes: { mode: 0o644 } });
  duringUpload = async () => {
    await fs.write(root, f.ino, cfg.second === 'extend' ? CHUNK : 0, chunkOf(1), 'file-sync');
    ack({ op: 'write', chunk: 1 });
  };
  await fs.write(root, f.ino, 0, chunkOf(0), 'file-sync');
  ack({ op: 'write', chunk: 0 });
  // Once that upload (of the first write only) is recorded, die.
  for (;;) {
    if (landed !== undefined && fs.sync!.snapshot(f.ino)?.remote.etag === landed) process.kill(process.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1));
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`recovery fixture failed: ${String(err)}\n`);
    process.exit(2);
  });
}
