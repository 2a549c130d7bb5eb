// Attributes of imported objects from their metadata: comparing and applying what a HEAD (or a
// listing's HEAD) showed. Reading pending ones is import-queue.ts's business.
import type { InodeRecord } from '../meta/inode';
import type { Mutation } from '../meta/mutation';
import type { RemoteEntry } from './remote';

/** True if `e` (described) says nothing different from `rec` (mtime in whole seconds counts as equal). */
export function sameAttributes(rec: InodeRecord, e: RemoteEntry): boolean {
  return (
    (e.mode === undefined || e.mode === rec.mode) &&
    (e.uid === undefined || e.uid === rec.uid) &&
    (e.gid === undefined || e.gid === rec.gid) &&
    e.mtime.sec === rec.mtime.sec &&
    (e.mtime.nsec === 0 || e.mtime.nsec === rec.mtime.nsec)
  );
}

/**
 * Inside a transaction: the bucket's mode/owner/mtime for an object whose content is unchanged
 * (or a directory marker). Recorded as synced: nothing is queued for upload.
 */
export function applyAttributes(m: Mutation, rec: InodeRecord, e: RemoteEntry, now: number): void {
  if (e.mode !== undefined) rec.mode = e.mode;
  if (e.uid !== undefined) rec.uid = e.uid;
  if (e.gid !== undefined) rec.gid = e.gid;
  rec.mtime = e.mtime;
  rec.ctime = m.now;
  rec.metaVersion++;
  m.save(rec, 'metadata');
  const rs = m.store.remote.get(rec.ino)!;
  m.store.remote.putSync(rec.ino, {
    ...rs,
    etag: e.etag ?? rs.etag,
    modifiedMs: e.modifiedMs ?? rs.modifiedMs,
    attributesPending: undefined,
    syncedMeta: rec.metaVersion,
    syncedAt: now,
  });
}
