// Inodes that cannot be in the bucket as they are named (a key over S3's 1,024 bytes): the
// reconciler records them here once instead of retrying, status pages list them, and a rename
// that makes the key fit puts them back in the upload queue. Their data stays in the cache:
// a volume with unsyncable inodes is never "fully in the bucket".
import type { FsCore } from '../core/core';
import { putRemote } from '../meta/remote-state';
import type { Unsyncable } from '../meta/schema';

export interface UnsyncableEntry extends Unsyncable {
  ino: number;
}

/**
 * Records `ino` as unsyncable and takes it out of the upload queue, unless it changed since
 * (`versions`, then it stays queued and its next job decides). Returns true when newly recorded.
 */
export async function markUnsyncable(core: FsCore, ino: number, record: Unsyncable, versions: { dataVersion: number; metaVersion: number }): Promise<boolean> {
  return core.mutate((m) => {
    const rec = m.find(ino);
    if (!rec) return false;
    const known = m.store.unsyncable.get(ino);
    m.store.unsyncable.putSync(ino, known?.key === record.key ? known : record);
    if (rec.dataVersion === versions.dataVersion && rec.metaVersion === versions.metaVersion) m.store.pending.removeSync(ino);
    return known?.key !== record.key;
  }, { quiet: true });
}

/**
 * A directory move leaves `ino`'s object behind at `oldKey` because its new key is too long:
 * the object is to be deleted (its data is all in the cache: the caller fetched it) and the
 * inode is local only, recorded unsyncable, until a rename makes its key fit.
 */
export async function dropTooLong(core: FsCore, ino: number, oldKey: string, record: Unsyncable, at: number): Promise<void> {
  await core.mutate((m) => {
    const rs = m.store.remote.get(ino);
    if (!rs || rs.key !== oldKey) return;
    m.store.tombstones.putSync(oldKey, { etag: rs.etag, at });
    // What it holds in the bucket is gone; what it knows of its directory listing stays.
    putRemote(m, ino, { ...rs, key: undefined, etag: undefined, size: undefined, backLen: 0, syncedData: 0, syncedMeta: 0 });
    m.store.unsyncable.putSync(ino, record);
  }, { quiet: true });
}

/** Forgets the record (the inode is being uploaded, or is gone). */
export async function clearUnsyncable(core: FsCore, ino: number): Promise<void> {
  if (core.store.unsyncable.get(ino) === undefined) return;
  await core.mutate((m) => m.store.unsyncable.removeSync(ino), { quiet: true });
}

/** Puts `ino` back in the upload queue (a rename above it made its key fit). */
export async function requeue(core: FsCore, ino: number): Promise<void> {
  await core.mutate((m) => {
    m.store.unsyncable.removeSync(ino);
    if (m.find(ino)) m.store.pending.putSync(ino, 1);
  }, { quiet: true });
}

export function listUnsyncable(core: FsCore, limit?: number): UnsyncableEntry[] {
  return Array.from(core.store.unsyncable.getRange({ limit }), ({ key, value }) => ({ ino: key, ...value }));
}

export function countUnsyncable(core: FsCore): number {
  return core.store.unsyncable.getCount();
}
