// fsync of a directory: makes the names created, renamed or removed in it survive a power cut
// (a file's own fsync covers its data, not its directory entry).
import fs from 'node:fs';

export async function syncDir(dir: string): Promise<void> {
  const h = await fs.promises.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** For start-up and recovery code that runs before anything else. */
export function syncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
