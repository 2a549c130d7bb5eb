// What a closed cache directory holds that is not in its bucket, read from its metadata without
// opening the file system: the CSI node decides from this whether the directory of a volume it
// no longer serves can be removed (never while anything in it is not in the bucket).
import fs from 'node:fs';
import path from 'node:path';
import { findEntry } from '../meta/directory';
import { ROOT_INO } from '../meta/inode';
import { MetadataStore } from '../meta/metadata-store';
import { LOST_FOUND } from '../meta/schema';
import { lockDir } from '../util/dir-lock';

export interface CacheSyncState {
  /** Linked to a bucket (an unlinked cache holds only local data). */
  linked: boolean;
  /** Inodes changed since their last upload, keys still to delete, files too long for S3. */
  pending: number;
  deletions: number;
  unsyncable: number;
  /** Files whose data may be newer than their record (a crash): unknown until recovered. */
  unrecovered: number;
  /** Local versions kept in lost+found after conflicts (never in the bucket). */
  keptAfterConflicts: number;
  /** Inodes besides the root. */
  inodes: number;
}

/** Reads the state of the (closed) cache in `dir`; undefined when it has no metadata at all. */
export async function inspectCache(dir: string): Promise<CacheSyncState | undefined> {
  if (!fs.existsSync(path.join(dir, 'meta'))) return undefined;
  const release = await lockDir(dir);
  try {
    const store = MetadataStore.open(dir);
    try {
      const lf = findEntry(store, ROOT_INO, LOST_FOUND);
      return {
        linked: store.settings.get('linkId') !== undefined,
        pending: store.pending.getCount(),
        deletions: store.tombstones.getCount(),
        unsyncable: store.unsyncable.getCount(),
        unrecovered: store.dirty.getCount(),
        keptAfterConflicts: lf ? filesUnder(store, lf.ino) : 0,
        inodes: Math.max(0, store.inodes.getCount() - 1),
      };
    } finally {
      await store.close();
    }
  } finally {
    await release();
  }
}

/** Why the cache holds data that is not in its bucket, or undefined if it holds none. */
export function notInBucket(s: CacheSyncState | undefined): string | undefined {
  if (!s) return undefined;
  if (!s.linked) return s.inodes > 0 ? `${s.inodes} local files never linked to a bucket` : undefined;
  const parts = [
    s.pending > 0 ? `${s.pending} changes to upload` : '',
    s.deletions > 0 ? `${s.deletions} deletions to carry out` : '',
    s.unsyncable > 0 ? `${s.unsyncable} files with a path too long for S3` : '',
    s.unrecovered > 0 ? `${s.unrecovered} files not recovered after a crash` : '',
    s.keptAfterConflicts > 0 ? 'local versions kept in .s3files-lost+found after conflicts' : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/** Files (anything but directories) in the tree under directory `dir`. */
function filesUnder(store: MetadataStore, dir: number): number {
  let n = 0;
  const todo = [dir];
  for (let i = 0; i < todo.length && i < 1_000_000; i++) {
    const d = todo[i]!;
    for (const { value } of store.dirents.getRange({ start: [d], end: [d + 1] })) {
      if (store.inodes.get(value.ino)?.type === 'dir') todo.push(value.ino);
      else n++;
    }
  }
  return n;
}
