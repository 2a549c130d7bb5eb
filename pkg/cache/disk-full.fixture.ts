// Child process for the disk-full test (disk.test.ts), run inside a private mount namespace on
// a small tmpfs: fills the disk through the file system and reports, as one JSON line, what
// the caller saw and whether the file system stayed consistent.
//   node disk-full.fixture.js DIR
import { isFsError, type Credentials } from '../vfs';
import { dataFilePath } from './data/data-store';
import { openCacheFileSystem } from './index';
import nodeFs from 'node:fs';
import winston from 'winston';

const root: Credentials = { uid: 0, gid: 0, gids: [] };
const log = winston.createLogger({ level: 'error', transports: [new winston.transports.Console({ stderrLevels: ['error'] })] });

function code(err: unknown): string {
  return isFsError(err) ? err.code : `not an FsError: ${String(err)}`;
}

async function main(): Promise<void> {
  const dir = process.argv[2]!;
  const out: Record<string, unknown> = {};
  let fs = await openCacheFileSystem({ dir, logger: log });
  const f = await fs.create(root, fs.rootIno, 'filler', { kind: 'unchecked', attributes: { mode: 0o644 } });
  const chunk = Buffer.alloc(256 * 1024, 0x5a);
  let written = 0;
  for (;;) {
    try {
      await fs.write(root, f.ino, written, chunk, 'unstable');
      written += chunk.length;
    } catch (err) {
      out.writeError = code(err);
      break;
    }
  }
  try {
    await fs.commit(root, f.ino, 0, 0);
    out.commit = 'ok';
  } catch (err) {
    out.commit = code(err);
  }
  // Metadata operations on a full disk fail cleanly or succeed; nothing throws anything else.
  const creates: string[] = [];
  for (let i = 0; i < 300; i++) {
    try {
      await fs.mkdir(root, fs.rootIno, `d${i}`, { mode: 0o755 });
      creates.push('ok');
    } catch (err) {
      creates.push(code(err));
    }
  }
  out.creates = Array.from(new Set(creates));
  out.sizeOk = (await fs.getattr(f.ino)).size === written;
  // A write cut short by ENOSPC leaves no bytes past the end of the file.
  const dataFile = dataFilePath(`${dir}/data`, f.ino, 2);
  out.dataFileSize = nodeFs.statSync(dataFile).size === written;
  const back = await fs.read(root, f.ino, 0, written);
  out.dataOk = back.data.equals(Buffer.alloc(written, 0x5a));
  // Someone else fills the rest of the disk: metadata commits now fail too, cleanly.
  const external = nodeFs.openSync(`${dir}/../external`, 'w');
  try {
    for (;;) nodeFs.writeSync(external, Buffer.alloc(64 * 1024));
  } catch {
    nodeFs.closeSync(external);
  }
  // Until a few have failed: free pages inside LMDB's file (the redo log's checkpoints leave
  // some) take the first ones without the disk.
  const whenFull: string[] = [];
  for (let i = 0; i < 5000 && whenFull.filter((c) => c !== 'ok').length < 5; i++) {
    await fs.mkdir(root, fs.rootIno, `full${i}`, { mode: 0o755 }).then(
      () => whenFull.push('ok'),
      (err) => whenFull.push(code(err)),
    );
  }
  out.metadataWhenFull = Array.from(new Set(whenFull));
  out.stillThere = (await fs.lookup(root, fs.rootIno, 'filler')).ino === f.ino;
  nodeFs.unlinkSync(`${dir}/../external`);
  await fs.remove(root, fs.rootIno, 'filler');
  const g = await fs.create(root, fs.rootIno, 'after', { kind: 'unchecked', attributes: { mode: 0o644 } });
  await fs.write(root, g.ino, 0, Buffer.from('after the disk was full'), 'file-sync');
  await fs.close();
  fs = await openCacheFileSystem({ dir, logger: log });
  const l = await fs.lookup(root, fs.rootIno, 'after');
  out.afterReopen = (await fs.read(root, l.ino, 0, 100)).data.toString();
  out.written = written;
  const made = creates.filter((c) => c === 'ok').length;
  let found = 0;
  for (let i = 0; i < 300; i++) found += await fs.lookup(root, fs.rootIno, `d${i}`).then(() => 1, () => 0);
  for (let i = 0; i < whenFull.length; i++) found += await fs.lookup(root, fs.rootIno, `full${i}`).then(() => 1, () => 0);
  out.dirsConsistent = found === made + whenFull.filter((c) => c === 'ok').length;
  await fs.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err) => {
  process.stdout.write(`${JSON.stringify({ crashed: String(err) })}\n`);
  process.exit(3);
});
