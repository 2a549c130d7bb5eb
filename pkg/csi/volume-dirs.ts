// The node's disk: each volume's cache lives in <cacheDir>/volumes/<export name>. A volume the
// node no longer holds (unstaged and every change in S3) has its directory removed; one left
// behind (a crash between the two, or an older s3files that never removed them) is an orphan,
// collected when the node plugin starts. Nothing is removed while its cache holds data that is
// not in the bucket (changes to upload, deletions, files too long for S3, crash leftovers,
// versions kept after conflicts): such a directory is kept and named in the log.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { inspectCache, notInBucket } from '../cache';
import { describeError, type Logger } from '../log/logger';

export function volumesDir(cacheDir: string): string {
  return path.join(cacheDir, 'volumes');
}

/**
 * Removes the closed cache of a released volume if everything in it is in the bucket; returns
 * why it was kept otherwise. Never throws: a directory that cannot be read or removed is kept.
 */
export async function removeIfInBucket(dir: string, log: Logger, fields: Record<string, unknown>): Promise<string | undefined> {
  let reason: string | undefined;
  try {
    reason = notInBucket(await inspectCache(dir));
    if (reason === undefined) {
      await rm(dir, { recursive: true, force: true });
      log.info('volume cache removed from the node: everything in it is in the bucket', { ...fields, dir });
      return undefined;
    }
  } catch (err) {
    reason = `could not be checked: ${describeError(err)}`;
  }
  log.warn('volume cache kept on the node: it holds data that is not in the bucket', { ...fields, dir, reason });
  return reason;
}

/**
 * At start: every volume directory that no export record names is removed if fully in the
 * bucket, else kept. Returns the names removed, and the kept orphans with why.
 */
export async function collectOrphans(cacheDir: string, recorded: Set<string>, log: Logger): Promise<{ removed: string[]; kept: Map<string, string> }> {
  const out = { removed: [] as string[], kept: new Map<string, string>() };
  let names: string[];
  try {
    names = await readdir(volumesDir(cacheDir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  for (const name of names.filter((n) => !recorded.has(n))) {
    const reason = await removeIfInBucket(path.join(volumesDir(cacheDir), name), log, { orphan: name });
    if (reason === undefined) out.removed.push(name);
    else out.kept.set(name, reason);
  }
  return out;
}
