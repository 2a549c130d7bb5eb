// One volume's link to its bucket/prefix on this node: the S3 store (node-stage credentials or
// the SDK's default chain), the cache file system with its write-back reconciler
// (pkg/reconcile openLinkedExport, as `s3files serve` uses it), the volume's Prometheus sync
// metrics, and the sync state the node reports in S3FileSystem status. NfsVolumeExports decides
// when a volume is served over NFS; a LinkedVolume keeps syncing whether it is served or not.
import { logger as makeLogger, type Logger } from '../log/logger';
import { registerExportSync } from '../metrics/sync-metrics';
import type { SharedCacheBudget } from '../cache';
import { openLinkedExport, type LinkedExport } from '../reconcile';
import type { ObjectStore } from '../s3/object-store';
import { createS3Store, keyPrefix, linkIdFor, verifyS3Store } from '../s3/s3-target';
import { translateS3Error } from './bucket-access';
import type { S3Credentials, S3Location, VolumeOptions } from './params';
import type { VolumeSyncStatus } from './sync-status';

export interface VolumeStoreHandle {
  store: ObjectStore;
  /** Releases the store's connections. */
  close(): void;
}

/** How a volume's store is made from its location; no request may be sent (restores use it). */
export type VolumeStoreFactory = (location: S3Location, credentials: S3Credentials | undefined) => VolumeStoreHandle;

/** The real factory: an S3Store. Path-style by default with a custom endpoint, as the controller does. */
export const s3VolumeStore: VolumeStoreFactory = (location, credentials) => {
  const store = createS3Store({
    bucket: location.bucket,
    prefix: keyPrefix(location.prefix),
    endpoint: location.endpoint,
    region: location.region,
    forcePathStyle: location.forcePathStyle ?? location.endpoint !== undefined,
    credentials,
  });
  return { store, close: () => store.destroy() };
};

/** Link settings that are the node's, not the volume's. */
export interface NodeLinkSettings {
  /** A listed directory is listed again after this (default: the cache's 30 s). */
  dirTtlMs?: number;
  /** Files up to this size are fetched when their directory is first listed (default 128 KiB). */
  prefetchBytes?: number;
  /** The node's cache size, shared by all its volumes (clean data evicted across volumes). */
  cacheBudget?: SharedCacheBudget;
}

export interface LinkedVolumeOptions {
  volumeId: string;
  location: S3Location;
  options: VolumeOptions;
  credentials?: S3Credentials;
  /** The volume's cache directory. */
  cacheDir: string;
  storeFactory: VolumeStoreFactory;
  /**
   * A new stage checks access to the bucket first (errors mapped for gRPC); a restore after a
   * plugin restart sends nothing to S3 before the cache is open, so it never fails or waits
   * because S3 is out of reach: the reconciler retries on its own.
   */
  verify: boolean;
  link?: NodeLinkSettings;
  logger?: Logger;
}

const DEFAULT_PREFETCH = 128 * 1024;

export class LinkedVolume {
  private readonly openedAt = new Date();
  private lastClean?: Date;
  private readonly unregisterMetrics: () => void;

  private constructor(
    readonly volumeId: string,
    readonly linked: LinkedExport,
    private readonly handle: VolumeStoreHandle,
  ) {
    this.unregisterMetrics = registerExportSync(volumeId, {
      status: () => linked.reconciler.status() as never,
      counters: () => linked.fs.sync!.counters(),
    });
  }

  /** Opens the volume's store and linked cache; the store is released if anything fails. */
  static async open(o: LinkedVolumeOptions): Promise<LinkedVolume> {
    const log = o.logger ?? makeLogger('csi-exports');
    const handle = o.storeFactory(o.location, o.credentials);
    const prefix = keyPrefix(o.location.prefix);
    let opening = true;
    try {
      if (o.verify) {
        await verifyS3Store(handle.store, prefix, { probe: 'best-effort' }).catch((err: unknown) => {
          throw translateS3Error(err, o.location.bucket);
        });
      } else {
        // Until the probe answers, the store uses conservative (correct, slower) capabilities.
        handle.store.detectCapabilities().catch((err: unknown) => log.warn('capability probe failed; will use conservative capabilities', { volumeId: o.volumeId, error: (err as Error).name }));
      }
      const opt = o.options;
      const defaults = {
        ...(opt.uid !== undefined ? { uid: opt.uid } : {}),
        ...(opt.gid !== undefined ? { gid: opt.gid } : {}),
        ...(opt.fileMode !== undefined ? { fileMode: opt.fileMode } : {}),
        ...(opt.dirMode !== undefined ? { dirMode: opt.dirMode } : {}),
      };
      const linked = await openLinkedExport({
        cacheDir: o.cacheDir,
        store: o.verify ? handle.store : deferAbortsWhile(handle.store, () => opening, log),
        prefix,
        linkId: linkIdFor(o.location.bucket, prefix),
        syncDelayMs: opt.syncDelayMs,
        cacheSizeBytes: opt.cacheLimitBytes,
        cacheBudget: o.link?.cacheBudget,
        capacityBytes: opt.capacityBytes,
        defaults: Object.keys(defaults).length > 0 ? defaults : undefined,
        metadataStyle: opt.metadataStyle,
        dirTtlMs: o.link?.dirTtlMs,
        prefetchBytes: o.link?.prefetchBytes ?? DEFAULT_PREFETCH,
        importRules: opt.importRules,
        logger: o.logger,
      });
      return new LinkedVolume(o.volumeId, linked, handle);
    } catch (err) {
      handle.close();
      throw err;
    } finally {
      opening = false;
    }
  }

  get fs(): LinkedExport['fs'] {
    return this.linked.fs;
  }

  /** Nothing of the volume waits for S3: no changed file, no deletion, no job running. */
  isClean(s = this.linked.reconciler.status()): boolean {
    return s.pendingFiles === 0 && s.tombstones === 0 && s.running === 0;
  }

  /** Uploads everything now; rejects if the queue is not empty after timeoutMs. */
  drain(timeoutMs: number): Promise<void> {
    return this.linked.reconciler.drain(timeoutMs);
  }

  /**
   * Dirty bytes, when everything was last in S3, and why syncing fails (if it does). lastSync
   * is when the last job that emptied the queue finished (or the open, if it was clean then);
   * while dirty, the last time it was seen clean.
   */
  syncStatus(): VolumeSyncStatus {
    const s = this.linked.reconciler.status();
    const clean = s.pendingFiles === 0 && s.tombstones === 0 && s.running === 0;
    if (clean) this.lastClean = s.lastSyncAt ? new Date(s.lastSyncAt) : (this.lastClean ?? this.openedAt);
    const latest = s.recentErrors[s.recentErrors.length - 1];
    const error = s.failing > 0 ? `${s.failing} sync job${s.failing === 1 ? '' : 's'} failing (retried); latest: ${latest?.error ?? 'unknown'}` : undefined;
    return {
      volumeId: this.volumeId,
      dirtyBytes: s.pendingBytes,
      ...(this.lastClean ? { lastSync: this.lastClean } : {}),
      ...(error ? { error } : {}),
      conflicts: s.stats.conflicts,
      ...(s.unsyncable > 0 ? { unsyncable: s.unsyncable } : {}),
    };
  }

  /** Stops the reconciler (what is queued stays queued on disk), closes the cache and the store. */
  async close(): Promise<void> {
    this.unregisterMetrics();
    try {
      await this.linked.close();
    } finally {
      this.handle.close();
    }
  }
}

/**
 * The store as the reconciler sees it during a restore. Reconciler.start() aborts the multipart
 * uploads a killed process left before it returns, and ignores their failure; with S3 out of
 * reach each abort would hold up serving the cache for its whole retry loop (up to a minute).
 * While `opening()`, aborts therefore run in the background and answer at once; afterwards the
 * store is used as it is.
 */
function deferAbortsWhile(store: ObjectStore, opening: () => boolean, log: Logger): ObjectStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'abortMultipartUpload') {
        return (key: string, uploadId: string): Promise<void> => {
          const abort = target.abortMultipartUpload(key, uploadId);
          if (!opening()) return abort;
          abort.catch((err: unknown) => log.warn('could not abort a multipart upload left by the previous process', { key, err: (err as Error).name }));
          return Promise.resolve();
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
