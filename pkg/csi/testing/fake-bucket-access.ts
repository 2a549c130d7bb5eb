// FakeBucketAccess: an in-memory stand-in for S3 as the CSI controller sees it, for the gRPC
// tests. Buckets exist when a test adds them, each with an optional set of accepted access key
// ids (undefined: the default chain and any key may use it). Prefixes are a set per bucket.
// Calls are recorded; `failOn` makes a named operation throw, and `gate` holds an operation
// until the test releases it (to observe concurrent calls).
import { NotFoundError, PermissionError, InvalidInputError } from '../errors';
import type { BucketAccess } from '../bucket-access';
import type { S3Credentials, S3Location } from '../params';

export type BucketOperation = 'checkAccess' | 'prefixExists' | 'ensurePrefix' | 'deletePrefix';

interface FakeBucket {
  allowedKeys?: Set<string>;
  prefixes: Set<string>;
}

export class FakeBucketAccess implements BucketAccess {
  readonly calls: { op: BucketOperation; bucket: string; prefix: string; keyId?: string }[] = [];
  readonly failOn = new Map<BucketOperation, Error>();
  /** Resolve-later gates per operation; the operation waits for the promise. */
  readonly gate = new Map<BucketOperation, Promise<void>>();
  private readonly buckets = new Map<string, FakeBucket>();

  addBucket(name: string, options: { allowedKeys?: string[]; prefixes?: string[] } = {}): this {
    this.buckets.set(name, {
      allowedKeys: options.allowedKeys ? new Set(options.allowedKeys) : undefined,
      prefixes: new Set(options.prefixes ?? []),
    });
    return this;
  }

  hasPrefix(bucket: string, prefix: string): boolean {
    return this.buckets.get(bucket)?.prefixes.has(prefix) ?? false;
  }

  async checkAccess(location: S3Location, credentials?: S3Credentials): Promise<void> {
    await this.enter('checkAccess', location, credentials);
  }

  async prefixExists(location: S3Location, credentials?: S3Credentials): Promise<boolean> {
    const bucket = await this.enter('prefixExists', location, credentials);
    return location.prefix === '' || bucket.prefixes.has(location.prefix);
  }

  async ensurePrefix(location: S3Location, credentials?: S3Credentials): Promise<void> {
    const bucket = await this.enter('ensurePrefix', location, credentials);
    if (location.prefix !== '') bucket.prefixes.add(location.prefix);
  }

  async deletePrefix(location: S3Location, credentials?: S3Credentials): Promise<void> {
    const bucket = await this.enter('deletePrefix', location, credentials);
    if (location.prefix === '') throw new InvalidInputError('refusing to delete a whole bucket');
    bucket.prefixes.delete(location.prefix);
  }

  private async enter(op: BucketOperation, location: S3Location, credentials?: S3Credentials): Promise<FakeBucket> {
    this.calls.push({ op, bucket: location.bucket, prefix: location.prefix, keyId: credentials?.accessKeyId });
    await this.gate.get(op);
    const failure = this.failOn.get(op);
    if (failure) throw failure;
    const bucket = this.buckets.get(location.bucket);
    if (!bucket) throw new NotFoundError(`bucket ${location.bucket} does not exist`);
    if (bucket.allowedKeys && !bucket.allowedKeys.has(credentials?.accessKeyId ?? '')) {
      throw new PermissionError(`access to bucket ${location.bucket} denied`);
    }
    return bucket;
  }
}
