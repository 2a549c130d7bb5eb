// Opens one export linked to a bucket/prefix: the cache file system (lazy import through an
// ObjectStoreSource) and its write-back Reconciler, sharing the fence of directory moves in
// progress (the source hides their names from listings; nothing waits for them). The entry
// point for `s3files serve` and the CSI node.
import { openCacheFileSystem, type CacheFileSystem, type CacheSync, type ImportRule, type SharedCacheBudget, type VolumeDefaults } from '../cache';
import { logger as makeLogger, type Logger } from '../log/logger';
import type { ObjectStore } from '../s3/object-store';
import { FsError } from '../vfs';
import { Foreground } from './foreground';
import { KeyMap } from './key-map';
import { MoveFence } from './move-fence';
import type { MetadataStyle } from './object-meta';
import { ObjectStoreSource } from './object-source';
import { observeWrites, OwnWrites } from './own-writes';
import { Reconciler, type ReconcilerOptions } from './reconciler';

export interface LinkedExportOptions {
  /** The export's cache directory (pkg/cache owns it). */
  cacheDir: string;
  store: ObjectStore;
  /** Key prefix of the export in the bucket ("" for the whole bucket). */
  prefix: string;
  /** What the cache is linked to, e.g. "s3://bucket/prefix/"; refused if the cache was linked elsewhere. */
  linkId: string;
  syncDelayMs?: number;
  dirTtlMs?: number;
  /** Longest a client call waits on the bucket before "try again later" (EJUKEBOX; default 10 s). */
  remoteWaitMs?: number;
  cacheSizeBytes?: number;
  /** A cache size shared with the other exports on the disk (the CSI node's volumes). */
  cacheBudget?: SharedCacheBudget;
  capacityBytes?: number;
  /** How often attributes kept in memory reach LMDB (pkg/cache; default 1 s). */
  flushIntervalMs?: number;
  blockSize?: number;
  readAheadBytes?: number;
  /** Small files fetched in the background when first listed (default 0: none). */
  prefetchBytes?: number;
  /** Import rules (prefix, sizeLessThan, trigger); given, they replace prefetchBytes. */
  importRules?: ImportRule[];
  /** Metadata reads and small-file imports in flight at once (default 32). */
  importConcurrency?: number;
  /** Bytes of small-file imports held in memory at once (default 32 MiB). */
  importMemoryBytes?: number;
  /**
   * COMMIT (fsync, close) answers only once the file is in the bucket, or fails (EIO) after
   * this many ms (DESIGN.md decision 7). Off by default.
   */
  syncOnCommitMs?: number;
  defaults?: Partial<VolumeDefaults>;
  /** Which metadata keys uploads carry: s3fs's (default), Amazon S3 Files', or both (object-meta.ts). */
  metadataStyle?: MetadataStyle;
  /** HEADs sent while listing, before it answers (default 0: all are left to the import queue). */
  headLimit?: number;
  reconciler?: Partial<Omit<ReconcilerOptions, 'sync' | 'store' | 'keys' | 'fence' | 'foreground'>>;
  logger?: Logger;
}

export interface LinkedExport {
  fs: CacheFileSystem;
  reconciler: Reconciler;
  source: ObjectStoreSource;
  keys: KeyMap;
  /** What the reconciler wrote and deleted lately: the bucket's events for them cost nothing. */
  ownWrites: OwnWrites;
  /** Stops the reconciler (what is queued stays queued), then closes the file system. */
  close(): Promise<void>;
}

export async function openLinkedExport(opts: LinkedExportOptions): Promise<LinkedExport> {
  const keys = new KeyMap(opts.prefix);
  const fence = new MoveFence();
  const foreground = new Foreground();
  const log = opts.logger ?? makeLogger('reconcile');
  let sync: CacheSync | undefined;
  // A directory removed here whose objects are still to be deleted has no owner and tombstones under it.
  const hidden = (dirKey: string) => fence.hides(dirKey) || (sync !== undefined && sync.ownerOf(dirKey) === undefined && sync.hasTombstonesUnder(dirKey));
  const source = new ObjectStoreSource(opts.store, keys, { headLimit: opts.headLimit, hidden, foreground, log, metadataStyle: opts.metadataStyle });
  const fs = await openCacheFileSystem({
    dir: opts.cacheDir,
    capacityBytes: opts.capacityBytes,
    flushIntervalMs: opts.flushIntervalMs,
    logger: opts.logger ?? makeLogger('cache'),
    defaultOwner: opts.defaults ? { uid: opts.defaults.uid ?? 0, gid: opts.defaults.gid ?? 0, mode: opts.defaults.dirMode ?? 0o755 } : undefined,
    link: {
      source,
      linkId: opts.linkId,
      dirTtlMs: opts.dirTtlMs,
      remoteWaitMs: opts.remoteWaitMs,
      blockSize: opts.blockSize,
      readAheadBytes: opts.readAheadBytes,
      cacheSizeBytes: opts.cacheSizeBytes,
      cacheBudget: opts.cacheBudget,
      prefetchBytes: opts.prefetchBytes,
      importRules: opts.importRules,
      importConcurrency: opts.importConcurrency,
      importMemoryBytes: opts.importMemoryBytes,
      defaults: opts.defaults,
    },
  });
  sync = fs.sync;
  const ownWrites = new OwnWrites();
  const reconciler = new Reconciler({ ...opts.reconciler, sync: fs.sync!, store: observeWrites(opts.store, ownWrites), keys, fence, foreground, syncDelayMs: opts.syncDelayMs, log, metadataStyle: opts.metadataStyle });
  if (opts.syncOnCommitMs !== undefined) {
    const timeout = opts.syncOnCommitMs;
    fs.setCommitHook((ino) =>
      reconciler.syncNow(ino, timeout).catch((err: unknown) => {
        throw new FsError('EIO', 'the file did not reach the bucket in time', { cause: err });
      }),
    );
  }
  try {
    await reconciler.start();
  } catch (err) {
    await fs.close();
    throw err;
  }
  return {
    fs,
    reconciler,
    source,
    keys,
    ownWrites,
    async close() {
      await reconciler.stop();
      await fs.close();
    },
  };
}
