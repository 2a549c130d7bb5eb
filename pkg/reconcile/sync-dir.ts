// One queued directory. A directory has a zero-byte marker object "dir/" for as long as it
// exists (created by mkdir, REPLACEd by chmod/chown/utimes; it carries mode, uid, gid, mtime),
// so empty directories survive and their attributes round-trip. The root has none.
// A renamed directory moves everything under its old prefix, imported or not, inside the move
// fence of its two prefixes (jobs on keys under them wait; everything else, listings included,
// goes on): tombstones under both prefixes are carried out first (deleted names must not be
// copied, nor delete the copies), every object is copied server-side, tens at a time, one
// transaction moves the keys of all inodes under the old prefix and queues the old keys for
// deletion, and those are deleted at once, in batches: nothing is deleted before its copy
// exists. The queue in LMDB is the move's record: a crash before the transaction copies again
// (objects already copied are skipped), one after it leaves tombstones that the reconciler
// carries out on start.
import type { SyncSnapshot, Tombstone, Unsyncable } from '../cache';
import { NotFoundError, PreconditionFailedError } from '../s3/errors';
import { listAll } from '../s3/object-store';
import { DONE, fencedOff, later, type Outcome, type ReconcileContext } from './context';
import { encodeMetadata } from './object-meta';
import { forEachAdaptive } from './pool';
import { deleteChecked, deleteIfUnchanged } from './tombstone';
import { logPathTooLong, refuseTooLong, shortKey, tooLongFor } from './too-long';
import { copyObject } from './upload';

const WAIT_MS = 300;
/**
 * Server-side copies (and deletion checks) of a directory move in flight at once: up to 32, as
 * many as the server takes without queueing them (pool.ts), so that the export's other
 * requests are not stuck behind the move's.
 */
const MOVE_CONCURRENCY = { min: 4, start: 8, max: 32 };

export async function syncDirectory(ctx: ReconcileContext, ino: number): Promise<Outcome> {
  const first = ctx.sync.snapshot(ino);
  if (!first) return DONE;
  const rs = first.remote;
  const desired = first.desiredKey;
  if (rs.key !== undefined && desired !== undefined && rs.key !== desired) {
    const from = rs.key;
    // A prefix moving into or out of itself goes through a temporary prefix.
    const to = desired.startsWith(from) || from.startsWith(desired) ? `.s3files-tmp/${ino}-${Date.now().toString(36)}/` : desired;
    return ctx.fence.move(from, to, () => moveDirectory(ctx, ino, from, desired, to));
  }
  const locked = desired;
  const out = await ctx.fence.withKeys([locked], () => ctx.keyLocks.run([locked], () => syncMarker(ctx, ino, locked)));
  return out ?? fencedOff(WAIT_MS);
}

async function syncMarker(ctx: ReconcileContext, ino: number, locked: string | undefined): Promise<Outcome> {
  const snap = ctx.sync.snapshot(ino);
  if (!snap || !snap.pending) return DONE;
  const desired = snap.desiredKey;
  const rs = snap.remote;
  if (desired === undefined || desired === '' || (rs.key === desired && rs.syncedMeta === snap.metaVersion)) {
    await ctx.sync.settle(snap);
    return DONE;
  }
  if (desired !== locked || (rs.key !== undefined && rs.key !== desired)) return later(0, 'renamed while waiting');
  if (await refuseTooLong(ctx, snap, desired)) return DONE;
  const blocked = moveBlocked(ctx, snap, desired, rs.key);
  if (blocked) return blocked;
  const etag = await putMarker(ctx, snap, desired);
  await ctx.sync.commitUpload(snap, { key: desired, etag, size: 0 });
  return DONE;
}

async function putMarker(ctx: ReconcileContext, snap: SyncSnapshot, rkey: string): Promise<string> {
  const metadata = encodeMetadata({ type: 'dir', mode: snap.mode, uid: snap.uid, gid: snap.gid, mtime: snap.mtime }, ctx.metadataStyle);
  // Unconditional: directories merge; this directory's attributes are the local ones.
  const { etag } = await ctx.store.put(ctx.keys.toS3(rkey), Buffer.alloc(0), { metadata, contentType: 'application/x-directory' });
  ctx.stats.markers++;
  return etag;
}

/**
 * Objects of other inodes under `to` that are still to move away, or a directory above
 * `to` that still has to move its old contents: wait for them.
 */
function moveBlocked(ctx: ReconcileContext, snap: SyncSnapshot, to: string, from: string | undefined): Outcome | undefined {
  for (let i = to.indexOf('/'); i >= 0 && i < to.length - 1; i = to.indexOf('/', i + 1)) {
    const prefix = to.slice(0, i + 1);
    const owner = ctx.sync.ownerOf(prefix);
    if (owner !== undefined && ctx.sync.desiredKey(owner) !== prefix) return later(WAIT_MS, `directory ${prefix} is moving`);
  }
  for (const [key, owner] of ctx.sync.ownersUnder(to)) {
    // Children already uploaded under the new name are where they belong.
    if (owner === snap.ino || (from !== undefined && key.startsWith(from)) || ctx.sync.desiredKey(owner) === key) continue;
    return later(WAIT_MS, `${key} under the new name is still moving away`);
  }
  return undefined;
}

async function moveDirectory(ctx: ReconcileContext, ino: number, from: string, desired: string, to: string): Promise<Outcome> {
  const snap = ctx.sync.snapshot(ino);
  if (!snap || !snap.pending) return DONE;
  if (snap.remote.key !== from || snap.desiredKey !== desired) return later(0, 'renamed while waiting');
  const blocked = moveBlocked(ctx, snap, to, from);
  if (blocked) return blocked;
  const t0 = Date.now();
  await carryOutTombstones(ctx, [...ctx.sync.tombstonesUnder(from), ...ctx.sync.tombstonesUnder(to)]);
  const copied = await copyPrefix(ctx, from, to);
  const t1 = Date.now();
  await ctx.sync.movePrefix(from, to, copied);
  ctx.tombstonesAdded();
  // The old keys, now tombstones, go at once (failures stay queued for the tombstone jobs).
  const outcomes = new Map<string, Outcome>();
  await deleteChecked(ctx, ctx.sync.tombstonesUnder(from).map(([k]) => k), WAIT_MS, outcomes);
  ctx.stats.directoryMoves++;
  ctx.log.info('directory moved', { from, to, objects: copied.length, left: outcomes.size, ms: Date.now() - t0, copyMs: t1 - t0 });
  const now = ctx.sync.snapshot(ino);
  if (!now || now.desiredKey !== to) return later(0, 'moved through a temporary prefix');
  if (await refuseTooLong(ctx, now, to)) return DONE;
  const etag = await putMarker(ctx, now, to);
  await ctx.sync.commitUpload(now, { key: to, etag, size: 0 });
  return DONE;
}

/** Deletions queued under the move's prefixes, before it copies anything (the keys are fenced off). */
async function carryOutTombstones(ctx: ReconcileContext, tombstones: Array<[string, Tombstone]>): Promise<void> {
  const done: Array<[string, Tombstone]> = [];
  await forEachAdaptive(tombstones, { ...MOVE_CONCURRENCY, yieldTo: () => ctx.foreground.busy }, async ([key, t]) => {
    if (ctx.sync.ownerOf(key) === undefined) await deleteIfUnchanged(ctx, key, t);
    done.push([key, t]);
  });
  await ctx.sync.dropTombstones(done);
}

interface Copied {
  oldKey: string;
  oldEtag: string;
  etag: string;
}

/**
 * Server-side copies of every object under `from` to the same place under `to`, MOVE_CONCURRENCY
 * at a time. An object already at its destination with the same ETag and size (an earlier try
 * of this move, cut short by a crash) is not copied again.
 */
async function copyPrefix(ctx: ReconcileContext, from: string, to: string): Promise<Copied[]> {
  const there = new Map<string, { etag: string; size: number }>();
  for await (const page of listAll(ctx.store, { prefix: ctx.keys.toS3(to) })) for (const o of page.objects) there.set(o.key, o);
  const copied: Copied[] = [];
  const objects = [];
  for await (const page of listAll(ctx.store, { prefix: ctx.keys.toS3(from) })) {
    for (const o of page.objects) {
      const oldKey = ctx.keys.fromS3(o.key)!;
      const existing = there.get(ctx.keys.toS3(to + oldKey.slice(from.length)));
      if (existing && existing.etag === o.etag && existing.size === o.size) copied.push({ oldKey, oldEtag: o.etag, etag: existing.etag });
      else objects.push(o);
    }
  }
  const { peakWindow } = await forEachAdaptive(objects, { ...MOVE_CONCURRENCY, yieldTo: () => ctx.foreground.busy }, async (o) => {
    const oldKey = ctx.keys.fromS3(o.key)!;
    const newKey = to + oldKey.slice(from.length);
    const tooLong = tooLongFor(ctx, newKey);
    if (tooLong) return leaveTooLong(ctx, oldKey, tooLong);
    const dest = ctx.keys.toS3(newKey);
    try {
      const etag = await copyObject(ctx.store, { key: o.key, etag: o.etag, size: o.size }, dest, undefined, ctx.tuning.partSize);
      copied.push({ oldKey, oldEtag: o.etag, etag });
      ctx.stats.copies++;
      ctx.stats.bytesCopied += o.size;
    } catch (err) {
      // Deleted or rewritten in the bucket meanwhile: the bucket's version stays where it is.
      if (!(err instanceof NotFoundError) && !(err instanceof PreconditionFailedError)) throw err;
      ctx.log.info('not moved: the object changed in the bucket during the move', { key: oldKey });
    }
  });
  ctx.log.debug('directory copied', { from, to, objects: objects.length, peakWindow });
  return copied;
}

/**
 * An object whose key under the new prefix would be too long for S3: its inode (its data
 * fetched whole first) becomes local only and unsyncable, and the old object is deleted like
 * the others moved. An object the cache does not know stays where it is: nothing else has it.
 */
async function leaveTooLong(ctx: ReconcileContext, oldKey: string, record: Unsyncable): Promise<void> {
  const owner = ctx.sync.ownerOf(oldKey);
  if (owner === undefined) {
    ctx.log.warn('not moved: its key under the new name would be too long for S3, and this node has no copy of it', { key: shortKey(oldKey), keyBytes: record.keyBytes });
    return;
  }
  await ctx.sync.dropTooLong(owner, oldKey, record);
  logPathTooLong(ctx, record, oldKey.endsWith('/') ? 'a directory' : 'a file');
}
