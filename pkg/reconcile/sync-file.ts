// One queued regular file, symlink or special file: make the object at its key match it.
//   - content changed (or never uploaded): PutObject / multipart (upload.ts), reusing unchanged
//     parts of the object it had;
//   - only moved and/or attributes changed: a server-side copy with the attributes REPLACEd
//     (in place for chmod/chown/utimes);
//   - then one transaction records the new key and ETag and queues the old key (a rename
//     source) for deletion: the source is never deleted before the copy exists.
// Every write is conditional on what the cache last saw there: the object's ETag for an update
// in place, the ETag of the object it replaces on purpose (a tombstone: rename over a file), or
// "no object" for a new name. A failed condition is a conflict: the bucket's version wins and
// the local one goes to lost+found (DESIGN.md decision 5).
import type { SyncSnapshot } from '../cache';
import { NotFoundError, PreconditionFailedError } from '../s3/errors';
import { DONE, fencedOff, later, type Outcome, type ReconcileContext } from './context';
import { encodeMetadata, UPLOAD_TOKEN } from './object-meta';
import { refuseTooLong } from './too-long';
import { copyObject, uploadFile, type Condition, type CopySource } from './upload';

const WAIT_MS = 300;

/**
 * Runs the job for `ino` under the locks of its old and new keys; later if one of them is under
 * a directory move in progress.
 */
export async function syncNonDirectory(ctx: ReconcileContext, ino: number): Promise<Outcome> {
  const first = ctx.sync.snapshot(ino);
  if (!first) return DONE;
  const locked = [first.remote.key, first.desiredKey];
  const out = await ctx.fence.withKeys(locked, () => ctx.keyLocks.run(locked, () => syncLocked(ctx, ino, locked)));
  return out ?? fencedOff(WAIT_MS);
}

async function syncLocked(ctx: ReconcileContext, ino: number, locked: Array<string | undefined>): Promise<Outcome> {
  const snap = ctx.sync.snapshot(ino);
  if (!snap || !snap.pending) return DONE;
  const desired = snap.desiredKey;
  if (desired === undefined) {
    await ctx.sync.settle(snap); // lost+found, or no name left
    return DONE;
  }
  const rs = snap.remote;
  if (!locked.includes(desired) || (rs.key !== undefined && !locked.includes(rs.key))) return later(0, 'renamed while waiting');
  if (await refuseTooLong(ctx, snap, desired)) return DONE;
  if (!snap.quiet) return later(WAIT_MS, 'being written');
  const blocked = blockedBy(ctx, snap, desired);
  if (blocked === 'cycle') {
    await stepAside(ctx, snap);
    return later(0, 'stepped aside to break a cycle of renames');
  }
  if (blocked) return blocked;

  // The size too, as a backstop: a file whose size is not its object's cannot be in step,
  // whatever the versions say.
  const versionsSay = rs.key === undefined || rs.syncedData !== snap.dataVersion;
  const onlySizeSays = !versionsSay && snap.type === 'file' && rs.size !== snap.size;
  const dataChanged = versionsSay || onlySizeSays;
  const moving = rs.key !== undefined && rs.key !== desired;
  if (!dataChanged && !moving && rs.syncedMeta === snap.metaVersion) {
    await ctx.sync.settle(snap);
    return DONE;
  }
  // The token marks our objects: after a crash, finding it means our own unrecorded upload.
  const token = ctx.sync.uploadToken(ino);
  let cond = condition(ctx, snap, desired, moving);
  // Parts are copied from the previous object where no block changed since its upload; when
  // only the size says the object is wrong, the block marks cannot be trusted either.
  let reuseParts = !onlySizeSays;
  const watch = ctx.sync.beginUpload(ino, snap.size, desired);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const etag = await send(ctx, snap, desired, { cond, token, dataChanged, moving, reuseParts });
        await ctx.sync.commitUpload(snap, { key: desired, etag, size: snap.type === 'file' ? snap.size : 0 }, watch);
        if (moving) ctx.tombstonesAdded();
        return DONE;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        // Ours: this inode's token, or that of the inode whose name this was (its tombstone's).
        const tokens = [token, ctx.sync.tombstone(desired)?.token].filter((t): t is string => t !== undefined);
        const own = attempt === 0 ? await ownLostWrite(ctx, desired, tokens) : undefined;
        if (own === undefined) {
          await conflict(ctx, snap, desired, moving, err);
          return DONE;
        }
        // An upload of ours landed before a crash and was never recorded: replace it, sending everything.
        ctx.stats.ownWritesRecovered++;
        ctx.log.info('found our own unrecorded upload (crash); replacing it', { key: desired });
        if (!moving && own.token === token) await ctx.sync.adoptOwnWrite(ino, desired, own.etag, own.size);
        cond = { ifMatch: own.etag };
        reuseParts = false;
      }
    }
  } finally {
    watch.finish();
  }
}

/** The ETag of the object at `desired` if it carries one of our upload tokens (a write whose record was lost). */
async function ownLostWrite(ctx: ReconcileContext, desired: string, tokens: string[]): Promise<{ etag: string; size: number; token: string } | undefined> {
  const info = await ctx.store.head(ctx.keys.toS3(desired)).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  const found = info?.metadata[UPLOAD_TOKEN];
  return info && found !== undefined && tokens.includes(found) ? { etag: info.etag, size: info.size, token: found } : undefined;
}

/**
 * Why the key cannot be written yet: a directory above it has yet to move its old contents
 * away, or another inode's content is still there (it is being renamed away). 'cycle': that
 * inode waits, through a chain of renames, for this one's key (a→b, b→a).
 */
function blockedBy(ctx: ReconcileContext, snap: SyncSnapshot, desired: string): Outcome | 'cycle' | undefined {
  for (let i = desired.indexOf('/'); i >= 0 && i < desired.length - 1; i = desired.indexOf('/', i + 1)) {
    const prefix = desired.slice(0, i + 1);
    const owner = ctx.sync.ownerOf(prefix);
    if (owner !== undefined && ctx.sync.desiredKey(owner) !== prefix) return later(WAIT_MS, `directory ${prefix} is moving`);
  }
  const occupant = ctx.sync.ownerOf(desired);
  if (occupant === undefined || occupant === snap.ino) return undefined;
  let cur = occupant;
  for (let i = 0; i < 64; i++) {
    const next = ctx.sync.desiredKey(cur);
    const nextOwner = next === undefined ? undefined : ctx.sync.ownerOf(next);
    if (nextOwner === snap.ino && snap.remote.key !== undefined && snap.remote.etag !== undefined) return 'cycle';
    if (nextOwner === undefined || nextOwner === cur) break;
    cur = nextOwner;
  }
  return later(WAIT_MS, 'the object at the destination is moving away');
}

function condition(ctx: ReconcileContext, snap: SyncSnapshot, desired: string, moving: boolean): Condition {
  const rs = snap.remote;
  if (!moving && rs.key !== undefined) return { ifMatch: rs.etag };
  const replaced = ctx.sync.tombstone(desired);
  if (replaced?.etag) return { ifMatch: replaced.etag };
  // Only an unrecorded upload of ours may be there (a token tombstone): checked on failure.
  if (replaced && replaced.token === undefined) return {};
  return { ifNoneMatch: '*' };
}

interface SendOptions {
  cond: Condition;
  token: string;
  dataChanged: boolean;
  moving: boolean;
  /** Copy unchanged parts from the previous object (off when that object is not what we knew). */
  reuseParts: boolean;
}

async function send(ctx: ReconcileContext, snap: SyncSnapshot, desired: string, o: SendOptions): Promise<string> {
  const { store, keys, stats } = ctx;
  const rs = snap.remote;
  const key = keys.toS3(desired);
  const metadata = { ...encodeMetadata({ type: snap.type, mode: snap.mode, uid: snap.uid, gid: snap.gid, mtime: snap.mtime }, ctx.metadataStyle), [UPLOAD_TOKEN]: o.token };
  if (snap.type === 'file') {
    const known = rs.key !== undefined && rs.etag !== undefined && o.reuseParts;
    const source: CopySource | undefined = known ? { key: keys.toS3(rs.key!), etag: rs.etag!, size: rs.size ?? 0 } : undefined;
    if (!o.dataChanged && source) {
      if (o.moving) await checkDestination(ctx, key, o.cond);
      const etag = await copyObject(store, source, key, metadata, ctx.tuning.partSize);
      stats.copies++;
      stats.bytesCopied += source.size;
      return etag;
    }
    const flight = ctx.inflight.begin(snap.ino, desired, snap.size);
    const sent = await uploadFile(ctx, snap, key, metadata, o.cond, source, flight.progress).finally(flight.end);
    if (sent.parts > 1) stats.multipartUploads++;
    else stats.puts++;
    stats.bytesSent += sent.bytesSent;
    stats.bytesCopied += sent.bytesCopied;
    return sent.etag;
  }
  const body = snap.type === 'symlink' ? Buffer.from(snap.target ?? '', 'utf8') : Buffer.alloc(0);
  const { etag } = await store.put(key, body, { metadata, ...o.cond });
  stats.puts++;
  stats.bytesSent += body.length;
  return etag;
}

/**
 * A cycle of renames: this inode's object moves to a temporary key first, freeing its old key
 * for the other one; it reaches its own key on a later run.
 */
async function stepAside(ctx: ReconcileContext, snap: SyncSnapshot): Promise<void> {
  const rs = snap.remote;
  const temp = `.s3files-tmp/${snap.ino}-${Date.now().toString(36)}`;
  const source = { key: ctx.keys.toS3(rs.key!), etag: rs.etag!, size: rs.size ?? 0 };
  const etag = await copyObject(ctx.store, source, ctx.keys.toS3(temp), undefined, ctx.tuning.partSize);
  // The temporary object holds what was synced before, not the inode's current versions.
  await ctx.sync.commitUpload({ ...snap, dataVersion: rs.syncedData, metaVersion: rs.syncedMeta }, { key: temp, etag, size: source.size });
  ctx.tombstonesAdded();
}

/** CopyObject has no condition on the destination here: checked with a HEAD just before. */
async function checkDestination(ctx: ReconcileContext, key: string, cond: Condition): Promise<void> {
  const current = await ctx.store.head(key).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  if (cond.ifNoneMatch === '*' && current) throw new PreconditionFailedError('object exists', { operation: 'copy', key });
  if (cond.ifMatch !== undefined && current?.etag !== cond.ifMatch) throw new PreconditionFailedError('object changed', { operation: 'copy', key });
}

async function conflict(ctx: ReconcileContext, snap: SyncSnapshot, desired: string, moving: boolean, err: Error): Promise<void> {
  ctx.stats.conflicts++;
  // What the bucket did, for the log: a deleted object is not a changed one.
  const deleted = snap.remote.key === desired && (await ctx.store.head(ctx.keys.toS3(desired)).then(() => false, (e: unknown) => e instanceof NotFoundError));
  const keptAs = await ctx.sync.quarantine(snap.ino, desired, moving);
  const what = deleted ? 'the object was deleted in the bucket; the deletion wins' : 'the object changed in the bucket; the bucket version wins';
  ctx.log.warn(`conflict: ${what}, the local version is kept in lost+found`, {
    key: desired,
    ino: snap.ino,
    keptAs,
    reason: err.message,
  });
  if (moving) ctx.tombstonesAdded();
}
