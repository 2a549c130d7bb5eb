// A queued deletion: the key of an inode that was removed (or renamed away). The object is
// deleted only if it is still the one the cache knew (same ETag): an object someone else wrote
// there meanwhile is theirs and stays. A key that another inode's content occupies now, or that
// a pending upload is about to replace (rename over a file: the replacement consumes the
// tombstone with a conditional write, so readers of the bucket never see the name missing),
// is left to that upload. Tombstones are carried out in batches.
import type { Tombstone } from '../cache';
import { NotFoundError } from '../s3/errors';
import { fencedOff, later, type Outcome, type ReconcileContext } from './context';
import { UPLOAD_TOKEN } from './object-meta';
import { forEachAdaptive } from './pool';

/**
 * Carries out a batch of tombstones (an `rm -rf` makes thousands): the keys are checked
 * (owner, pending replacement) under their locks, HEADed many at a time for their ETags,
 * deleted with one DeleteObjects per 1000, and dropped in one transaction. Returns the keys to
 * try again later (with why); throws if the bucket could not be asked at all. Keys under a
 * directory move in progress are left for later.
 */
export async function runTombstones(ctx: ReconcileContext, rkeys: string[], waitMs: number): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>();
  const { held, release } = ctx.fence.holdUnfenced(rkeys);
  const fenced = new Set(rkeys);
  for (const k of held) fenced.delete(k);
  for (const k of fenced) outcomes.set(k, fencedOff(waitMs));
  try {
    await ctx.keyLocks.run(held, () => deleteChecked(ctx, held, waitMs, outcomes));
  } finally {
    release();
  }
  return outcomes;
}

/**
 * The tombstones of `rkeys` (caller holds their locks): checked, HEADed, deleted in batches,
 * dropped in one transaction; keys to retry go to `outcomes`.
 */
export async function deleteChecked(ctx: ReconcileContext, rkeys: string[], waitMs: number, outcomes: Map<string, Outcome>): Promise<void> {
  const done: Array<[string, Tombstone]> = [];
  const check: Array<[string, Tombstone]> = [];
  for (const rkey of rkeys) {
    const t = ctx.sync.tombstone(rkey);
    if (!t) continue;
    if (ctx.sync.ownerOf(rkey) !== undefined) done.push([rkey, t]); // someone's content is there now
    else if (isReplaced(ctx, rkey)) outcomes.set(rkey, later(waitMs, 'a pending upload replaces it'));
    else check.push([rkey, t]);
  }
  const doomed: Array<[string, Tombstone]> = [];
  await forEachAdaptive(check, { ...HEAD_CONCURRENCY, yieldTo: () => ctx.foreground.busy }, async ([rkey, t]) => {
    if (await stillOurs(ctx, rkey, t)) doomed.push([rkey, t]);
    else done.push([rkey, t]);
  });
  const failed = new Set((await ctx.store.deleteMany(doomed.map(([k]) => ctx.keys.toS3(k)))).map((e) => e.key));
  for (const [rkey, t] of doomed) {
    if (failed.has(ctx.keys.toS3(rkey))) outcomes.set(rkey, later(RETRY_MS, 'delete failed'));
    else {
      done.push([rkey, t]);
      ctx.stats.deletes++;
    }
  }
  if (failed.size > 0) ctx.log.warn('some deletes failed; will retry', { keys: Array.from(failed).slice(0, 10), failed: failed.size });
  await ctx.sync.dropTombstones(done);
}

/** HEADs in flight while checking a batch of deletions (each is one round trip; see pool.ts). */
const HEAD_CONCURRENCY = { min: 4, start: 8, max: 32 };
const RETRY_MS = 2000;

/** A pending inode at that path will replace the object (and consume the tombstone). */
function isReplaced(ctx: ReconcileContext, rkey: string): boolean {
  const local = ctx.sync.inodeAt(rkey);
  return local !== undefined && ctx.sync.isPending(local);
}

/**
 * True if the object at `rkey` is still the one the tombstone knew, or carries the token of the
 * inode that left it (an upload of ours a crash kept from being recorded). Absent: false.
 */
async function stillOurs(ctx: ReconcileContext, rkey: string, t: Tombstone): Promise<boolean> {
  const info = await ctx.store.head(ctx.keys.toS3(rkey)).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  if (!info) return false;
  if (t.token !== undefined && info.metadata[UPLOAD_TOKEN] === t.token) return true;
  if ((t.etag !== undefined || t.token !== undefined) && info.etag !== t.etag) {
    ctx.log.info('not deleted: the object changed in the bucket since', { key: rkey });
    return false;
  }
  return true;
}

/** Deletes the object at `rkey` if it still has the tombstone's ETag. Caller holds the key. */
export async function deleteIfUnchanged(ctx: ReconcileContext, rkey: string, t: Tombstone): Promise<void> {
  if (!(await stillOurs(ctx, rkey, t))) return;
  await ctx.store.delete(ctx.keys.toS3(rkey));
  ctx.stats.deletes++;
}
