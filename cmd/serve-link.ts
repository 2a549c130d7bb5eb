// How `s3files serve` links its exports: to a bucket/prefix through S3Store (credentials from
// the AWS_* environment or the SDK's default chain, never logged), or, with no bucket, to the
// embedded FolderStore under <cache-dir>/objects. One export is linked to the prefix itself;
// several are linked to PREFIX/<export>/ each. With --local, exports are linked to nothing.
import path from 'node:path';
import { openCacheFileSystem, type CacheFileSystem, type ImportRule } from '../pkg/cache';
import { logger } from '../pkg/log/logger';
import { registerExportSync } from '../pkg/metrics/sync-metrics';
import { openLinkedExport, type LinkedExport, type MetadataStyle } from '../pkg/reconcile';
import { NoSuchBucketError } from '../pkg/s3/errors';
import { FolderStore } from '../pkg/s3/folder-store';
import type { ObjectStore } from '../pkg/s3/object-store';
import type { S3Store } from '../pkg/s3/s3-store';
import { keyPrefix, linkIdFor, openVerifiedS3Store } from '../pkg/s3/s3-target';
import { errnoIn } from './errno';

export interface LinkSettings {
  bucket?: string;
  prefix: string;
  endpoint?: string;
  region?: string;
  pathStyle: boolean;
  syncDelayMs: number;
  dirTtlMs: number;
  cacheSizeBytes?: number;
  capacityBytes?: number;
  prefetchBytes: number;
  importRules?: ImportRule[];
  /** Reconciler jobs at once (default 32). */
  uploadJobs?: number;
  /** Import queue requests at once (default 32). */
  importRequests?: number;
  syncOnCommitMs?: number;
  metadataStyle?: MetadataStyle;
}

export interface OpenedStore {
  store: ObjectStore;
  /** "s3://bucket/" or "folder:/abs/path/": with the prefix, what a cache is linked to. */
  location: string;
  close(): void;
}

const log = logger('serve');

export async function openStore(cacheDir: string, s: LinkSettings): Promise<OpenedStore> {
  if (!s.bucket) {
    const root = path.join(cacheDir, 'objects');
    const store = await FolderStore.open(root);
    return { store, location: `folder:${root}/`, close: () => undefined };
  }
  let store: S3Store;
  try {
    // Checks access to the bucket (and that it exists), and learns what the server supports.
    store = await openVerifiedS3Store(
      { bucket: s.bucket, prefix: s.prefix, endpoint: s.endpoint, region: s.region, forcePathStyle: s.pathStyle },
      { probe: 'required' },
      // Uploads and imports share the store's requests: more of either may use more.
      { maxConcurrency: Math.max(64, (s.uploadJobs ?? 32) + (s.importRequests ?? 32)) },
    );
  } catch (err) {
    if (err instanceof NoSuchBucketError) throw new Error(`bucket ${s.bucket} does not exist`);
    throw explainStoreFailure(err, s);
  }
  return { store, location: linkIdFor(s.bucket, ''), close: () => store.destroy() };
}

export function exportPrefix(prefix: string, name: string, exportCount: number): string {
  const p = keyPrefix(prefix);
  return exportCount === 1 ? p : `${p}${name.replace(/^\/+|\/+$/g, '')}/`;
}

/** An export's directory name under the cache directory ("a/b" → "a_b"). */
function exportDirName(name: string): string {
  return name.replace(/\//g, '_');
}

/**
 * `--local`: the cache file system linked to nothing, under CACHE_DIR/local/NAME — apart from
 * linked caches, so a cache that was linked is never opened unlinked and its changes never miss
 * the upload queue.
 */
export function openLocalExport(cacheDir: string, name: string, capacityBytes: number | undefined): Promise<CacheFileSystem> {
  return openCacheFileSystem({ dir: path.join(cacheDir, 'local', exportDirName(name)), capacityBytes, logger: logger('cache') });
}

export async function openExport(cacheDir: string, name: string, exportCount: number, opened: OpenedStore, s: LinkSettings): Promise<{ linked: LinkedExport; unregister: () => void }> {
  const prefix = exportPrefix(s.prefix, name, exportCount);
  const linked = await openLinkedExport({
    cacheDir: path.join(cacheDir, 'exports', exportDirName(name)),
    store: opened.store,
    prefix,
    linkId: `${opened.location}${prefix}`,
    syncDelayMs: s.syncDelayMs,
    dirTtlMs: s.dirTtlMs,
    cacheSizeBytes: s.cacheSizeBytes,
    capacityBytes: s.capacityBytes,
    prefetchBytes: s.prefetchBytes,
    importRules: s.importRules,
    importConcurrency: s.importRequests,
    reconciler: s.uploadJobs !== undefined ? { concurrency: s.uploadJobs } : undefined,
    syncOnCommitMs: s.syncOnCommitMs,
    metadataStyle: s.metadataStyle,
  });
  log.info('export linked', { export: name, location: `${opened.location}${prefix}`, capabilities: opened.store.capabilities });
  const unregister = registerExportSync(name, { status: () => linked.reconciler.status() as never, counters: () => linked.fs.sync!.counters() });
  return { linked, unregister };
}

const ERRNO_MEANING: Record<string, string> = {
  ECONNREFUSED: 'connection refused: nothing listens there',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve (DNS not answering)',
  ETIMEDOUT: 'no answer (timed out)',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'the network is unreachable',
  EPROTO: 'TLS failed (an https:// URL for an http server?)',
};

/** A failure to open the bucket, with the endpoint named and a network error spelled out. */
export function explainStoreFailure(err: unknown, s: Pick<LinkSettings, 'bucket' | 'endpoint' | 'region'>): Error {
  const where = s.endpoint ?? `AWS S3 (region ${s.region ?? process.env.AWS_REGION ?? 'us-east-1'})`;
  const errno = errnoIn(err);
  const message = err instanceof Error ? err.message : String(err);
  if (errno) {
    return new Error(`cannot reach the S3 endpoint ${where} for bucket ${s.bucket}: ${errno} (${ERRNO_MEANING[errno] ?? message}); check --endpoint and that the server is up`);
  }
  return new Error(`bucket ${s.bucket} at ${where}: ${message}`, { cause: err });
}
