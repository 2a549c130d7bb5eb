// A queued deletion: the key of an inode that was removed (or renamed away). The object is
// deleted only if it is still the one the cache knew (same ETag): an object someone else wrote
// there meanwhile is theirs and stays. A key that another inode's content occupies now, or that
// a pending upload is about to replace (rename over a file: the replacement consumes the
// tombstone with a conditional write, so readers of the bucket never see the name missing),
// is left to that upload.
import type { Tombstone } from '../cache';
import { NotFoundError } from '../s3/errors';
import { DONE, later, type Outcome, type ReconcileContext } from './context';
import { UPLOAD_TOKEN } from './object-meta';

export async function runTombstone(ctx: ReconcileContext, rkey: string, waitMs: number): Promise<Outcome> {
  return ctx.namespace.shared(() =>
    ctx.keyLocks.run([rkey], async () => {
      const t = ctx.sync.tombstone(rkey);
      if (!t) return DONE;
      if (ctx.sync.ownerOf(rkey) === undefined) {
        const local = ctx.sync.inodeAt(rkey);
        if (local !== undefined && ctx.sync.isPending(local)) return later(waitMs, 'a pending upload replaces it');
        await deleteIfUnchanged(ctx, rkey, t);
      }
      await ctx.sync.dropTombstone(rkey, t);
      return DONE;
    }),
  );
}

/** Deletes the object at `rkey` if it still has the tombstone's ETag. Caller holds the key. */
export async function deleteIfUnchanged(ctx: ReconcileContext, rkey: string, t: Tombstone): Promise<void> {
  const key = ctx.keys.toS3(rkey);
  const info = await ctx.store.head(key).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  if (!info) return;
  if (t.token !== undefined && info.metadata[UPLOAD_TOKEN] !== t.token) return;
  if (t.etag !== undefined && info.etag !== t.etag) {
    ctx.log.info('not deleted: the object changed in the bucket since', { key: rkey });
    return;
  }
  await ctx.store.delete(key);
  ctx.stats.deletes++;
}
