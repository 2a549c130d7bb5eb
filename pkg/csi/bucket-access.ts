// The controller's narrow view of S3: can these credentials use the bucket, make a volume's
// prefix, delete a dynamic volume's data. S3BucketAccess implements it over pkg/s3's
// ObjectStore; tests use FakeBucketAccess (testing/fake-bucket-access.ts).
import type { ObjectStore } from '../s3/object-store';
import { listAll } from '../s3/object-store';
import * as s3 from '../s3/errors';
import type { S3StoreConfig } from '../s3/s3-config';
import { InvalidInputError, NotFoundError, PermissionError, UnavailableError } from './errors';
import type { S3Credentials, S3Location } from './params';

export interface BucketAccess {
  /**
   * Succeeds when the bucket exists and the credentials (or the default chain) may list it.
   * Throws NotFoundError (no such bucket), PermissionError, UnavailableError or InvalidInputError.
   */
  checkAccess(location: S3Location, credentials?: S3Credentials): Promise<void>;
  /** Whether anything (the marker or any object) exists under "prefix/"; true for the empty prefix. */
  prefixExists(location: S3Location, credentials?: S3Credentials): Promise<boolean>;
  /** Makes the prefix show as an (empty) directory: a zero-byte "prefix/" marker. Idempotent. */
  ensurePrefix(location: S3Location, credentials?: S3Credentials): Promise<void>;
  /** Deletes every object under "prefix/". Idempotent. Refuses the empty prefix (a whole bucket). */
  deletePrefix(location: S3Location, credentials?: S3Credentials): Promise<void>;
}

export interface StoreHandle {
  store: ObjectStore;
  /** Releases the store's connections. */
  close(): void;
}

export type StoreFactory = (config: S3StoreConfig) => StoreHandle;

export interface S3Defaults {
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
}

export function markerKey(prefix: string): string {
  return prefix === '' ? '' : `${prefix}/`;
}

export class S3BucketAccess implements BucketAccess {
  constructor(
    private readonly open: StoreFactory,
    private readonly defaults: S3Defaults = {},
  ) {}

  async checkAccess(location: S3Location, credentials?: S3Credentials): Promise<void> {
    await this.with(location, credentials, (store) => store.list({ prefix: markerKey(location.prefix), maxKeys: 1 }));
  }

  async prefixExists(location: S3Location, credentials?: S3Credentials): Promise<boolean> {
    if (location.prefix === '') return true;
    return this.with(location, credentials, async (store) => {
      const page = await store.list({ prefix: markerKey(location.prefix), maxKeys: 1 });
      return page.objects.length > 0 || page.commonPrefixes.length > 0;
    });
  }

  async ensurePrefix(location: S3Location, credentials?: S3Credentials): Promise<void> {
    if (location.prefix === '') return;
    const key = markerKey(location.prefix);
    await this.with(location, credentials, async (store) => {
      const existing = await store.list({ prefix: key, maxKeys: 1 });
      if (existing.objects.length > 0 || existing.commonPrefixes.length > 0) return;
      try {
        await store.put(key, Buffer.alloc(0), { ifNoneMatch: '*' });
      } catch (err) {
        if (!(err instanceof s3.PreconditionFailedError)) throw err; // someone else made it: fine
      }
    });
  }

  async deletePrefix(location: S3Location, credentials?: S3Credentials): Promise<void> {
    if (location.prefix === '') throw new InvalidInputError('refusing to delete the contents of a whole bucket');
    await this.with(location, credentials, async (store) => {
      for await (const page of listAll(store, { prefix: markerKey(location.prefix) })) {
        const failed = await store.deleteMany(page.objects.map((o) => o.key));
        if (failed.length > 0) {
          const first = failed[0];
          throw new UnavailableError(`could not delete ${failed.length} objects under ${location.prefix}/ (first: ${first?.key}: ${first?.error})`);
        }
      }
    });
  }

  private async with<T>(location: S3Location, credentials: S3Credentials | undefined, fn: (store: ObjectStore) => Promise<T>): Promise<T> {
    const endpoint = location.endpoint ?? this.defaults.endpoint;
    const handle = this.open({
      bucket: location.bucket,
      region: location.region ?? this.defaults.region,
      endpoint,
      forcePathStyle: location.forcePathStyle ?? this.defaults.forcePathStyle ?? endpoint !== undefined,
      credentials,
    });
    try {
      return await fn(handle.store);
    } catch (err) {
      throw translateS3Error(err, location.bucket);
    } finally {
      handle.close();
    }
  }
}

/**
 * pkg/s3's domain errors → the CSI layer's (errors.ts maps those to gRPC codes): a missing
 * bucket is NotFoundError, refused credentials PermissionError, S3 out of reach (or not usable
 * now) UnavailableError, which the CO retries. Shared by the controller and NodeStageVolume.
 */
export function translateS3Error(err: unknown, bucket: string): unknown {
  if (err instanceof s3.NoSuchBucketError) return new NotFoundError(`bucket ${bucket} does not exist`, { cause: err });
  if (err instanceof s3.AccessDeniedError) return new PermissionError(`access to bucket ${bucket} denied`, { cause: err });
  if (err instanceof s3.TransientError || err instanceof s3.ThrottledError) {
    return new UnavailableError(`S3 is not reachable for bucket ${bucket}: ${err.message}`, { cause: err });
  }
  if (err instanceof s3.InvalidArgumentError) return new InvalidInputError(err.message, { cause: err });
  // Anything else the store reports (no credentials found, an unexpected answer) is S3 not
  // being usable now: UNAVAILABLE, which the CO retries, rather than INTERNAL.
  if (err instanceof s3.ObjectStoreError) return new UnavailableError(`S3 request for bucket ${bucket} failed: ${err.message}`, { cause: err });
  return err;
}
