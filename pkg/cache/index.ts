// The cache file system: a POSIX file system on local disk (metadata in LMDB, one sparse data
// file per regular file) behind the FileSystem interface the NFS server serves.
import fs from 'node:fs';
import type { Timestamp } from '../vfs';
import { logger as makeLogger, type Logger } from '../log/logger';
import { systemClock } from './util/clock';
import { FsCore } from './core/core';
import { DataStore } from './data/data-store';
import { lockDir } from './util/dir-lock';
import { CacheFileSystem } from './filesystem';
import { InodeTable } from './meta/inode-table';
import { MetadataStore } from './meta/metadata-store';
import { initLink } from './link/link-init';
import { LinkContext } from './link/link-context';
import { RemoteChanges } from './link/remote-changes';
import { CacheSync } from './link/sync-api';
import type { LinkOptions } from './link/remote';
import { ensureRoot, recover } from './core/recovery';

export { CacheFileSystem } from './filesystem';
export type { ChangeListener } from './core/core';
export type { ChangeKind } from './meta/mutation';
export type { CacheSync, SyncSnapshot, UploadResult } from './link/sync-api';
export type { UploadWatch } from './link/link-view';
export { parentKey, type ChangeOutcome, type RemoteChange, type RemoteChanges } from './link/remote-changes';
export * from './link/remote';
export type { RemoteState, Tombstone, Unsyncable } from './meta/schema';
export type { UnsyncableEntry } from './link/unsyncable';
export { inspectCache, notInBucket, type CacheSyncState } from './link/inspect';
export { SharedCacheBudget } from './link/cache-budget';
export { parseImportRules, type ImportRule, type ImportTrigger } from './link/import-rules';

export interface CacheFileSystemOptions {
  /** Private to this instance (one per export): meta/ (LMDB) and data/ live here. */
  dir: string;
  /** Bytes of file data allowed (the PVC size); FSSTAT reports it, writes beyond get ENOSPC. */
  capacityBytes?: number;
  /** Inodes allowed; creates beyond get ENOSPC. */
  maxInodes?: number;
  clock?: () => Timestamp;
  logger?: Logger;
  /** Owner and mode of the root directory when it is first created (default 0:0, 0755). */
  defaultOwner?: { uid: number; gid: number; mode: number };
  /** How often in-memory attributes are written to LMDB (default 1000 ms). */
  flushIntervalMs?: number;
  /** Open data-file descriptors kept (default 512). */
  maxOpenFiles?: number;
  /**
   * Link to a bucket (pkg/reconcile provides the source): directories are imported lazily,
   * contents fetched on demand, changes queued for upload. A cache directory, once linked,
   * only ever opens linked to the same linkId.
   */
  link?: LinkOptions;
}

/**
 * Opens (creating on first use) the file system in `options.dir`: takes the directory, opens
 * the metadata database, creates the root, repairs what a crash left (core/recovery.ts), and probes
 * the largest file size the cache disk supports.
 */
export async function openCacheFileSystem(options: CacheFileSystemOptions): Promise<CacheFileSystem> {
  const log = options.logger ?? makeLogger('cache');
  await fs.promises.mkdir(options.dir, { recursive: true });
  const release = await lockDir(options.dir);
  let store: MetadataStore | undefined;
  let data: DataStore | undefined;
  try {
    store = MetadataStore.open(options.dir);
    const inodes = new InodeTable(store);
    const metadata = store;
    data = await DataStore.create({
      dir: options.dir,
      maxOpenFiles: options.maxOpenFiles,
      logicalSize: (ino) => inodes.get(ino)?.size,
      nextIno: () => metadata.counter('nextIno'),
      isRegularFile: (ino) => {
        const type = inodes.get(ino)?.type;
        return type === undefined ? undefined : type === 'file';
      },
      logger: log,
    });
    const clock = options.clock ?? systemClock();
    const owner = options.defaultOwner ?? { uid: 0, gid: 0, mode: 0o755 };
    await ensureRoot(store, clock, owner);
    if (options.link) await initLink(store, options.link.linkId);
    await recover(store, data, clock, log);
    inodes.memoryUsed = store.counter('usedBytes');
    const maxFileSize = await data.probeMaxFileSize();
    data.startPreparing();
    const core = new FsCore({
      dir: options.dir,
      store,
      data,
      inodes,
      clock,
      log,
      maxFileSize,
      capacityBytes: options.capacityBytes,
      maxInodes: options.maxInodes,
      linked: options.link !== undefined,
    });
    const link = options.link ? new LinkContext(core, options.link) : undefined;
    core.link = link;
    const sync = link ? new CacheSync(core, link) : undefined;
    const remoteChanges = link ? new RemoteChanges(core, link) : undefined;
    return new CacheFileSystem({ core, sync, remoteChanges, release, flushIntervalMs: options.flushIntervalMs ?? 1000 });
  } catch (err) {
    await data?.close().catch(() => undefined);
    await store?.close().catch(() => undefined);
    await release();
    throw err;
  }
}
