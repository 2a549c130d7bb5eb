// Keys S3 cannot take. A POSIX path may be up to PATH_MAX (4,096 bytes) but an S3 key at most
// 1,024 bytes (UTF-8, the volume's prefix included). Such a file or directory stays in the
// cache, is recorded once as unsyncable ("PathTooLong", as Amazon S3 Files calls it) and is
// not retried; status pages, metrics and the CSI node's Events show it. A rename of it, or of a
// directory above it, that makes the key fit puts it back in the upload queue.
import type { SyncSnapshot, Unsyncable } from '../cache';
import { MAX_KEY_BYTES } from '../s3/object-store';
import type { ReconcileContext } from './context';

/** The unsyncable record for `rkey` if its bucket key is over the limit, else undefined. */
export function tooLongFor(ctx: ReconcileContext, rkey: string): Unsyncable | undefined {
  const keyBytes = Buffer.byteLength(ctx.keys.toS3(rkey), 'utf8');
  return keyBytes > MAX_KEY_BYTES ? { reason: 'PathTooLong', key: rkey, keyBytes, at: Date.now() } : undefined;
}

/** The start and end of a long key, for logs. */
export function shortKey(rkey: string): string {
  return rkey.length <= 120 ? rkey : `${rkey.slice(0, 60)}…${rkey.slice(-60)}`;
}

export function logPathTooLong(ctx: ReconcileContext, record: Unsyncable, what: string): void {
  ctx.log.warn(`path too long for S3: ${what} stays on this node only until it or a directory above it is renamed to a shorter path`, {
    key: shortKey(record.key),
    keyBytes: record.keyBytes,
    maxKeyBytes: MAX_KEY_BYTES,
    reason: record.reason,
  });
}

/**
 * Before an upload of `snap` to `desired`: true when the key is too long (recorded once, out
 * of the queue: the job is done); false when it fits (an earlier record is cleared).
 */
export async function refuseTooLong(ctx: ReconcileContext, snap: SyncSnapshot, desired: string): Promise<boolean> {
  const record = tooLongFor(ctx, desired);
  if (!record) {
    await ctx.sync.clearUnsyncable(snap.ino);
    return false;
  }
  if (await ctx.sync.markUnsyncable(snap, record)) logPathTooLong(ctx, record, snap.type === 'dir' ? 'a directory' : 'a file');
  return true;
}

/**
 * After a rename above them: unsyncable inodes whose key fits now go back in the upload
 * queue; records of inodes that are gone or local only are dropped. Returns those requeued.
 */
export async function recheckUnsyncable(ctx: ReconcileContext): Promise<number[]> {
  const requeued: number[] = [];
  for (const entry of ctx.sync.unsyncable()) {
    const desired = ctx.sync.desiredKey(entry.ino);
    if (desired === undefined) await ctx.sync.clearUnsyncable(entry.ino);
    else if (!tooLongFor(ctx, desired)) {
      await ctx.sync.requeue(entry.ino);
      requeued.push(entry.ino);
    }
  }
  return requeued;
}
