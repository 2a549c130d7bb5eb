// One cache directory, one file system instance: a second open of the same directory in this
// process, or while another live process holds it, is refused (both would keep their own
// in-memory attributes and overwrite each other's).
import fs from 'node:fs';
import path from 'node:path';
import { FsError } from '../../vfs';

const openInProcess = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the directory; returns the function that gives it back. */
export async function lockDir(dir: string): Promise<() => Promise<void>> {
  const key = path.resolve(dir);
  if (openInProcess.has(key)) throw new FsError('EIO', `cache directory ${dir} is already open in this process`);
  const file = path.join(key, 'owner.pid');
  let holder: number | undefined;
  try {
    holder = Number.parseInt(await fs.promises.readFile(file, 'utf8'), 10);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (holder && holder !== process.pid && alive(holder)) {
    throw new FsError('EIO', `cache directory ${dir} is in use by process ${holder}`);
  }
  await fs.promises.writeFile(file, String(process.pid));
  openInProcess.add(key);
  return async () => {
    openInProcess.delete(key);
    await fs.promises.unlink(file).catch(() => undefined);
  };
}
