// Child process for the crash test (persistence.test.ts): works on a cache file system and
// prints one line per acknowledged operation until it is killed with SIGKILL.
//   node crash-writer.fixture.js DIR
// Lines: "ack {json}". Content written at (file, chunk) is pattern(file, chunk), so the parent
// can check every acknowledged byte after reopening.
import { openCacheFileSystem } from './index';
import type { Credentials } from '../vfs';
import { ack } from '../../test/support/acks';

export const CHUNK = 16 * 1024;

export function pattern(fileNo: number, chunk: number): Buffer {
  const b = Buffer.alloc(CHUNK);
  for (let i = 0; i < CHUNK; i += 4) b.writeUInt32LE(((fileNo * 7919 + chunk) * 2654435761 + i) >>> 0, i);
  return b;
}

const root: Credentials = { uid: 0, gid: 0, gids: [] };

async function worker(fs: Awaited<ReturnType<typeof openCacheFileSystem>>, w: number, dirIno: number): Promise<void> {
  for (let n = 0; ; n++) {
    const fileNo = w * 1_000_000 + n;
    const name = `f${fileNo}`;
    const c = await fs.create(root, dirIno, name, { kind: 'guarded', attributes: { mode: 0o644 } });
    ack({ op: 'create', name, ino: c.ino, gen: c.attributes.generation });
    const chunks = 1 + (n % 6);
    const stableEach = n % 2 === 0;
    for (let k = 0; k < chunks; k++) {
      const r = await fs.write(root, c.ino, k * CHUNK, pattern(fileNo, k), stableEach ? 'file-sync' : 'unstable');
      ack({ op: 'write', fileNo, ino: c.ino, chunk: k, committed: r.committed });
    }
    if (!stableEach) {
      await fs.commit(root, c.ino, 0, 0);
      ack({ op: 'commit', fileNo, ino: c.ino, chunks });
    }
    if (n % 5 === 4) {
      await fs.rename(root, dirIno, name, dirIno, `${name}.renamed`);
      ack({ op: 'rename', from: name, to: `${name}.renamed`, ino: c.ino });
    }
    if (n % 7 === 6) {
      const d = await fs.mkdir(root, dirIno, `d${fileNo}`, { mode: 0o755 });
      ack({ op: 'mkdir', name: `d${fileNo}`, ino: d.ino, gen: d.attributes.generation });
    }
  }
}

async function unstableWriter(fs: Awaited<ReturnType<typeof openCacheFileSystem>>, dirIno: number): Promise<void> {
  const c = await fs.create(root, dirIno, 'unstable', { kind: 'guarded', attributes: { mode: 0o644 } });
  ack({ op: 'create', name: 'unstable', ino: c.ino, gen: c.attributes.generation });
  for (let k = 0; ; k++) {
    await fs.write(root, c.ino, k * CHUNK, pattern(-1, k), 'unstable');
    ack({ op: 'unstable-write', ino: c.ino, chunk: k });
  }
}

async function main(): Promise<void> {
  const dir = process.argv[2]!;
  const fs = await openCacheFileSystem({ dir });
  const d = await fs.mkdir(root, fs.rootIno, 'work', { mode: 0o755 });
  ack({ op: 'mkdir', name: 'work', ino: d.ino, gen: d.attributes.generation });
  await Promise.all([worker(fs, 1, d.ino), worker(fs, 2, d.ino), worker(fs, 3, d.ino), unstableWriter(fs, d.ino)]);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`crash-writer failed: ${String(err)}\n`);
    process.exit(2);
  });
}
