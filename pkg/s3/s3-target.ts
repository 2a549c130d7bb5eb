// The S3Store an export is linked to, as `s3files serve` (cmd/serve-link.ts) and the CSI node
// plugin (pkg/csi/linked-volume.ts) both open it: a store bound to a bucket (endpoint, region,
// path-style, credentials or the SDK's default chain), a check that the bucket exists and may be
// listed under the prefix, and the capability probe. One place, so that both modes link a cache
// to the same thing in the same way (linkIdFor) and learn the same things about the server.
import { logger } from '../log/logger';
import type { ObjectStore } from './object-store';
import type { S3StoreConfig, StaticCredentials } from './s3-config';
import { S3Store } from './s3-store';

export interface S3Target {
  bucket: string;
  /** Key prefix of the export: "" (the whole bucket) or ending with "/". */
  prefix: string;
  endpoint?: string;
  /** Default: AWS_REGION, else AWS_DEFAULT_REGION, else the SDK's us-east-1. */
  region?: string;
  forcePathStyle?: boolean;
  /** Undefined: the SDK's default chain (env, profile, IRSA, EKS Pod Identity, instance role). */
  credentials?: StaticCredentials;
}

export interface VerifyOptions {
  /**
   * 'required' (serve): a failed capability probe fails the open. 'best-effort' (CSI node): the
   * probe writes scratch objects at the bucket's root, which credentials scoped to a prefix may
   * not do; the store then keeps the conservative capabilities (conditions checked with a HEAD
   * first), which are correct, only slower.
   */
  probe: 'required' | 'best-effort';
}

const log = logger('s3');

/** What a cache linked to this target records (pkg/cache refuses to open it linked elsewhere). */
export function linkIdFor(bucket: string, prefix: string): string {
  return `s3://${bucket}/${prefix}`;
}

/** "a/b" → "a/b/", "" stays "" (the form S3Target.prefix and KeyMap take). */
export function keyPrefix(prefix: string): string {
  const p = prefix.replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

/** The store, without a request: opening an export from the cache must never wait for S3. */
export function createS3Store(t: S3Target, extra: Partial<S3StoreConfig> = {}): S3Store {
  return new S3Store({
    ...extra,
    bucket: t.bucket,
    endpoint: t.endpoint,
    region: t.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION,
    forcePathStyle: t.forcePathStyle,
    credentials: t.credentials,
  });
}

/**
 * Checks that the bucket exists and the credentials may list the prefix (one LIST of at most
 * one key), then probes what the server supports. Throws pkg/s3's domain errors
 * (NoSuchBucketError, AccessDeniedError, TransientError, ...) for the caller to map.
 */
export async function verifyS3Store(store: ObjectStore, prefix: string, options: VerifyOptions): Promise<void> {
  await store.list({ prefix, maxKeys: 1 });
  try {
    await store.detectCapabilities();
  } catch (err) {
    if (options.probe === 'required') throw err;
    log.warn('capability probe failed; using conservative capabilities', { prefix, error: (err as Error).name });
  }
}

/** createS3Store + verifyS3Store; the store is destroyed if the check fails. */
export async function openVerifiedS3Store(t: S3Target, options: VerifyOptions, extra: Partial<S3StoreConfig> = {}): Promise<S3Store> {
  const store = createS3Store(t, extra);
  try {
    await verifyS3Store(store, t.prefix, options);
    return store;
  } catch (err) {
    store.destroy();
    throw err;
  }
}
