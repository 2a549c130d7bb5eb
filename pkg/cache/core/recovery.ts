// Start-up: create the root on first open, then repair what a crash (kill -9, power loss) may
// have left half done. Runs before any data file is opened.
//
// The crash rule for file data:
//  - A file's durable dirty mark is set before its data file is first changed after a commit
//    and dropped only once its data is fdatasynced and its attributes are in LMDB.
//  - Unmarked files are exactly as their record says. If their data file is longer (a truncate
//    persisted but not yet applied), it is cut back when opened.
//  - Marked files may have data newer than their record. Their size becomes the larger of the
//    recorded size and the data file's size (after kill -9 the page cache kept every
//    acknowledged write, so nothing written is lost; after a power cut, what the disk kept),
//    allocation is re-read, mtime/ctime become the recovery time and dataVersion is bumped (past
//    any version an upload recorded as synced) so that clients' caches and the reconciler see
//    that the contents may have changed.
//  - Orphans (inodes freed whose data files were not yet unlinked) are unlinked.
import { FsError } from '../../vfs';
import type { Clock } from '../util/clock';
import type { DataStore } from '../data/data-store';
import { newInodeRecord, ROOT_INO } from '../meta/inode';
import { chargedBytes } from '../meta/inode-table';
import type { MetadataStore } from '../meta/metadata-store';
import type { Logger } from '../../log/logger';

/** 2: the links index (names of each inode) exists; format 1 caches get it on open. */
export const FORMAT_VERSION = 2;

export interface RootDefaults {
  uid: number;
  gid: number;
  mode: number;
}

export async function ensureRoot(store: MetadataStore, clock: Clock, root: RootDefaults): Promise<void> {
  const format = store.counters.get('format');
  if (format === 1) await addLinksIndex(store);
  else if (format !== undefined && format !== FORMAT_VERSION) {
    throw new FsError('EIO', `cache metadata format ${format} is not supported (expected ${FORMAT_VERSION})`);
  }
  if (store.inodes.get(ROOT_INO)) return;
  await store.transact(() => {
    if (store.inodes.get(ROOT_INO)) return;
    const rec = newInodeRecord(ROOT_INO, { type: 'dir', mode: root.mode, uid: root.uid, gid: root.gid, parent: ROOT_INO }, clock());
    store.inodes.putSync(ROOT_INO, rec);
    store.counters.putSync('format', FORMAT_VERSION);
    store.counters.putSync('nextIno', ROOT_INO + 1);
    store.counters.putSync('inodeCount', 1);
    store.counters.putSync('usedBytes', 0);
  });
}

/** Format 1 → 2: builds the links index from the directory entries, in one transaction. */
async function addLinksIndex(store: MetadataStore): Promise<void> {
  await store.transact(() => {
    for (const { key, value } of store.dirents.getRange({})) store.links.putSync([value.ino, key[0], key[1]], 1);
    store.counters.putSync('format', FORMAT_VERSION);
  });
}

export async function recover(store: MetadataStore, data: DataStore, clock: Clock, log: Logger): Promise<void> {
  for (const ino of store.listOrphans()) {
    await data.remove(ino);
    await store.transact(() => store.orphans.removeSync(ino));
    log.info('removed data of an inode freed before a crash', { ino });
  }
  for (const ino of store.listDirty()) await reconcileDirty(store, data, clock, ino, log);
}

async function reconcileDirty(store: MetadataStore, data: DataStore, clock: Clock, ino: number, log: Logger): Promise<void> {
  const rec = store.inodes.get(ino);
  const onDisk = rec?.type === 'file' ? await data.fileSize(ino) : undefined;
  await store.transact(() => {
    store.dirty.removeSync(ino);
    if (!rec || rec.type !== 'file') return;
    if (store.settings.get('linkId') !== undefined) {
      // Linked: the file must be uploaded again, and which blocks were written is not known.
      store.pending.putSync(ino, 1);
      const blocks = store.blocks.get(ino) ?? { present: Buffer.alloc(0), dirty: Buffer.alloc(0) };
      store.blocks.putSync(ino, { ...blocks, dirtyFrom: 0 });
    }
    const now = clock();
    // Past every version an upload recorded too: the crashed process numbered its unpersisted
    // writes in memory (a stable write to a marked file commits nothing), and an upload of one
    // of them may have recorded that number as synced. Reusing it would pass the recovered
    // contents off as already in the bucket.
    const rs = store.remote.get(ino);
    const dataVersion = Math.max(rec.dataVersion, rs?.syncedData ?? 0) + 1;
    const metaVersion = Math.max(rec.metaVersion, rs?.syncedMeta ?? 0) + 1;
    const next = { ...rec, mtime: now, ctime: now, dataVersion, metaVersion };
    if (onDisk) {
      next.size = Math.max(rec.size, onDisk.size);
      next.used = onDisk.used;
    }
    store.addCounter('usedBytes', chargedBytes(next) - chargedBytes(rec));
    store.inodes.putSync(ino, next);
  });
  log.info('reconciled file written before a crash', { ino });
}
