// S3BucketAccess over pkg/s3's ObjectStore contract, with a small in-memory stand-in that
// implements only the calls BucketAccess makes (list, put, deleteMany) and throws pkg/s3's
// domain errors, so the translation to the CSI layer's errors is what is tested.
import assert from 'node:assert/strict';
import type { ListOptions, ListResult, ObjectStore } from '../s3/object-store';
import * as s3 from '../s3/errors';
import type { S3StoreConfig } from '../s3/s3-config';
import { S3BucketAccess } from './bucket-access';
import { InvalidInputError, NotFoundError, PermissionError, UnavailableError } from './errors';

class MiniStore {
  constructor(
    readonly keys: Set<string>,
    private readonly failure?: Error,
  ) {}
  async list(opts: ListOptions): Promise<ListResult> {
    if (this.failure) throw this.failure;
    const all = [...this.keys].filter((k) => k.startsWith(opts.prefix ?? '')).sort();
    // Like S3, a continuation token means "after this key", so deleting listed keys between
    // pages does not skip any.
    const after = all.filter((k) => opts.continuationToken === undefined || k > opts.continuationToken);
    const max = opts.maxKeys ?? 2; // tiny pages, to exercise pagination
    const page = after.slice(0, max);
    const more = after.length > max;
    return {
      objects: page.map((key) => ({ key, size: 0, etag: 'e', lastModified: new Date(0) })),
      commonPrefixes: [],
      ...(more ? { nextContinuationToken: page[page.length - 1] } : {}),
    };
  }
  async put(key: string, _body: Buffer, opts?: { ifNoneMatch?: '*' }): Promise<{ etag: string }> {
    if (opts?.ifNoneMatch && this.keys.has(key)) throw new s3.PreconditionFailedError('exists', { operation: 'put', key });
    this.keys.add(key);
    return { etag: 'e' };
  }
  async deleteMany(keys: string[]): Promise<[]> {
    for (const k of keys) this.keys.delete(k);
    return [];
  }
}

describe('S3BucketAccess', () => {
  const configs: S3StoreConfig[] = [];
  const access = (store: MiniStore, defaults = {}) =>
    new S3BucketAccess((cfg) => {
      configs.push(cfg);
      return { store: store as unknown as ObjectStore, close: () => undefined };
    }, defaults);

  it('ensurePrefix writes a zero-byte marker once; prefixExists sees it', async () => {
    const store = new MiniStore(new Set());
    const a = access(store);
    const loc = { bucket: 'media', prefix: 'volumes/pvc-1' };
    assert.equal(await a.prefixExists(loc), false);
    await a.ensurePrefix(loc);
    await a.ensurePrefix(loc);
    assert.deepEqual([...store.keys], ['volumes/pvc-1/']);
    assert.equal(await a.prefixExists(loc), true);
  });

  it('deletePrefix deletes every page under "prefix/" and nothing beside it', async () => {
    const store = new MiniStore(new Set(['v/p1/', 'v/p1/a', 'v/p1/b/c', 'v/p1/d', 'v/p1/e', 'v/p10/keep', 'other']));
    await access(store).deletePrefix({ bucket: 'media', prefix: 'v/p1' });
    assert.deepEqual([...store.keys].sort(), ['other', 'v/p10/keep']);
  });

  it('deletePrefix refuses a whole bucket', async () => {
    await assert.rejects(access(new MiniStore(new Set(['a']))).deletePrefix({ bucket: 'media', prefix: '' }), InvalidInputError);
  });

  it('translates pkg/s3 errors into the CSI layer errors', async () => {
    const ctx = { operation: 'list' };
    const cases: [Error, unknown][] = [
      [new s3.NoSuchBucketError('nope', ctx), NotFoundError],
      [new s3.AccessDeniedError('no', ctx), PermissionError],
      [new s3.TransientError('reset', ctx), UnavailableError],
      [new s3.ThrottledError('slow', ctx), UnavailableError],
    ];
    for (const [thrown, expected] of cases) {
      await assert.rejects(access(new MiniStore(new Set(), thrown)).checkAccess({ bucket: 'media', prefix: '' }), expected as never);
    }
  });

  it('builds the store from the location, the defaults and the credentials; path style for custom endpoints', async () => {
    configs.length = 0;
    const a = access(new MiniStore(new Set()), { region: 'us-west-2', endpoint: 'http://rgw:7480' });
    await a.checkAccess({ bucket: 'media', prefix: 'p' }, { accessKeyId: 'AK', secretAccessKey: 'SK' });
    assert.deepEqual(configs[0], {
      bucket: 'media',
      region: 'us-west-2',
      endpoint: 'http://rgw:7480',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
    });
  });
});
