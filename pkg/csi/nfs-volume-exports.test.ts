// NfsVolumeExports with the real NfsServer (127.0.0.1, an ephemeral port), real linked caches
// (pkg/reconcile) and a real object store: the embedded FolderStore, behind an outage switch that
// makes every call fail as an unreachable S3 would (TransientError). The RGW suite
// (test/integration/csi-volume-link.test.ts) covers S3Store, secrets and the error codes of a
// real server. Sync delays are an hour: whatever reaches the store got there by the drain.
import assert from 'node:assert/strict';
import { mkdtemp, readFile as readHostFile, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { exists, mkdirs, quietLog, readFile, resolve, writeFile } from '../../test/support/linked-fs';
import { metrics } from '../metrics/registry';
import { TransientError } from '../s3/errors';
import { FolderStore } from '../s3/folder-store';
import type { ObjectStore } from '../s3/object-store';
import { createS3Store } from '../s3/s3-target';
import { toGrpcStatus } from './errors';
import type { VolumeStoreFactory } from './linked-volume';
import { NfsVolumeExports, type NfsVolumeExportsOptions } from './nfs-volume-exports';
import type { S3Credentials, S3Location } from './params';
import type { ExportSpec } from './volume-exports';
import { exportNameFor } from './volume-id';

const HOUR = 3_600_000;
const VOLUME: ExportSpec = {
  volumeId: 'v1:media:vol',
  location: { bucket: 'media', prefix: 'vol' },
  options: { syncDelayMs: HOUR, capacityBytes: 64 << 20, uid: 1000, gid: 100, fileMode: 0o640 },
};
const NAME = exportNameFor(VOLUME.volumeId);

/** Every call fails like a connection refused by S3 while `down`; otherwise the store as it is. */
function withOutage(inner: ObjectStore, outage: { down: boolean }): ObjectStore {
  return new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (outage.down) return Promise.reject(new TransientError('connect ECONNREFUSED (test outage)', { operation: String(prop) }));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('NfsVolumeExports linked to an object store', function () {
  this.timeout(60_000);
  let dir: string;
  let objects: FolderStore;
  let outage: { down: boolean };
  let opened: Array<{ location: S3Location; credentials?: S3Credentials }>;
  let closedStores: number;
  const factory: VolumeStoreFactory = (location, credentials) => {
    opened.push({ location, credentials });
    return { store: withOutage(objects, outage), close: () => void closedStores++ };
  };
  const start = (extra: Partial<NfsVolumeExportsOptions> = {}) =>
    NfsVolumeExports.start({ cacheDir: path.join(dir, 'cache'), host: '127.0.0.1', port: 0, s3Defaults: { region: 'us-east-2' }, logger: quietLog, storeFactory: factory, unstageSyncTimeoutMs: 20_000, ...extra });
  const fsOf = (e: NfsVolumeExports) => {
    const linked = e.linkedExport(NAME);
    assert.ok(linked, 'the volume is not open');
    return linked.fs;
  };
  const inBucket = async (key: string): Promise<Buffer | undefined> => {
    try {
      return (await objects.getBuffer(key)).data;
    } catch {
      return undefined;
    }
  };
  const records = async () => JSON.parse(await readHostFile(path.join(dir, 'cache', 'csi', 'exports.json'), 'utf8')) as Array<{ volumeId: string; draining?: boolean }>;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nfs-exports-'));
    objects = await FolderStore.open(path.join(dir, 'objects'));
    outage = { down: false };
    opened = [];
    closedStores = 0;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('stages over the bucket: an object put before shows with its bytes and the volume\'s defaults; repeat = same export, one open', async () => {
    await objects.put('vol/pre.txt', Buffer.from('put before staging\n'));
    const exports = await start();
    try {
      const a = await exports.ensureExport(VOLUME);
      const b = await exports.ensureExport(VOLUME);
      assert.deepEqual(a, b);
      assert.equal(a.path, `/${NAME}`);
      assert.equal(opened.length, 1);
      assert.deepEqual(opened[0]?.location, { bucket: 'media', prefix: 'vol', region: 'us-east-2' });
      const fs = fsOf(exports);
      assert.equal((await readFile(fs, 'pre.txt')).toString(), 'put before staging\n');
      const attr = await fs.getattr(await resolve(fs, 'pre.txt'));
      assert.deepEqual([attr.uid, attr.gid, attr.mode & 0o7777], [1000, 100, 0o640]);
      assert.equal((await exports.stats(VOLUME.volumeId))?.totalBytes, 64 << 20);
      assert.deepEqual(await exports.syncStatus(), [{ volumeId: VOLUME.volumeId, dirtyBytes: 0, lastSync: (await exports.syncStatus())[0]?.lastSync, conflicts: 0 }]);
    } finally {
      await exports.close();
    }
  });

  it('unstage drains: a file written just before is in the bucket when releaseExport returns; then closed, metrics and credentials gone', async () => {
    const exports = await start();
    try {
      await exports.ensureExport({ ...VOLUME, credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' } });
      const data = Buffer.alloc(300_000, 7);
      await mkdirs(fsOf(exports), 'dir');
      await writeFile(fsOf(exports), 'dir/new.bin', data);
      assert.equal((await exports.syncStatus())[0]?.dirtyBytes, data.length);
      assert.match(await metrics().registry.metrics(), /s3files_sync_pending_bytes\{export="v1:media:vol"\} 300000/);
      await exports.releaseExport(VOLUME.volumeId);
      assert.deepEqual(await inBucket('vol/dir/new.bin'), data);
      assert.equal(exports.linkedExport(NAME), undefined);
      assert.equal(await exports.stats(VOLUME.volumeId), undefined);
      assert.deepEqual(await exports.syncStatus(), []);
      assert.deepEqual(await records(), []);
      assert.equal(closedStores, 1);
      await assert.rejects(stat(path.join(dir, 'cache', 'csi', 'credentials', `${NAME}.json`)), { code: 'ENOENT' });
      assert.doesNotMatch(await metrics().registry.metrics(), /export="v1:media:vol"/);
      await exports.releaseExport(VOLUME.volumeId); // idempotent
    } finally {
      await exports.close();
    }
  });

  it('keeps credentials at rest with mode 0600 and never in the export list', async () => {
    const exports = await start();
    try {
      await exports.ensureExport({ ...VOLUME, credentials: { accessKeyId: 'AK', secretAccessKey: 'SECRETKEY' } });
      assert.deepEqual(opened[0]?.credentials, { accessKeyId: 'AK', secretAccessKey: 'SECRETKEY' });
      const credFile = path.join(dir, 'cache', 'csi', 'credentials', `${NAME}.json`);
      assert.equal((await stat(credFile)).mode & 0o777, 0o600);
      assert.equal((await stat(path.dirname(credFile))).mode & 0o777, 0o700);
      const list = await readHostFile(path.join(dir, 'cache', 'csi', 'exports.json'), 'utf8');
      assert.ok(!list.includes('SECRETKEY'));
    } finally {
      await exports.close();
    }
  });

  it('[error] a new stage while S3 is unreachable is UNAVAILABLE and leaves nothing recorded', async () => {
    const exports = await start();
    try {
      outage.down = true;
      const err = await exports.ensureExport(VOLUME).then(() => undefined, (e: unknown) => e);
      assert.equal(toGrpcStatus(err).code, grpcStatus.UNAVAILABLE, String(err));
      assert.equal(closedStores, 1);
      assert.deepEqual(await exports.syncStatus(), []);
      assert.equal(exports.linkedExport(NAME), undefined);
    } finally {
      await exports.close();
    }
  });

  it('unstage while S3 is down: OK after the timeout, data kept and reported; staging again reuses the open cache; drained once S3 is back', async () => {
    const exports = await start({ unstageSyncTimeoutMs: 300 });
    try {
      await exports.ensureExport(VOLUME);
      const fs = fsOf(exports);
      await exists(fs, 'anything'); // the root is listed while S3 answers
      outage.down = true;
      await writeFile(fs, 'late.txt', Buffer.from('written during the outage\n'));
      const t0 = Date.now();
      await exports.releaseExport(VOLUME.volumeId);
      assert.ok(Date.now() - t0 < 5_000, `releaseExport took ${Date.now() - t0} ms`);
      assert.equal(await inBucket('vol/late.txt'), undefined);
      assert.equal(await exports.stats(VOLUME.volumeId), undefined, 'a draining volume is not served');
      assert.deepEqual(await records(), [{ volumeId: VOLUME.volumeId, location: { ...VOLUME.location, region: 'us-east-2' }, options: VOLUME.options, draining: true }]);
      await until('the failure to show in the sync status', async () => (await exports.syncStatus())[0]?.error !== undefined);
      const st = (await exports.syncStatus())[0];
      assert.equal(st?.dirtyBytes, 26);
      assert.match(st?.error ?? '', /failing \(retried\); latest: .*ECONNREFUSED/);
      // Staged again while it drains: the same open cache, no second open of the store.
      await exports.ensureExport(VOLUME);
      assert.equal(fsOf(exports), fs);
      assert.equal(opened.length, 1);
      assert.ok(await exports.stats(VOLUME.volumeId));
      await exports.releaseExport(VOLUME.volumeId);
      outage.down = false;
      await until('the volume to drain', async () => (await exports.syncStatus()).length === 0);
      assert.equal((await inBucket('vol/late.txt'))?.toString(), 'written during the outage\n');
      assert.deepEqual(await records(), []);
    } finally {
      await exports.close();
    }
  });

  it('a volume still draining at shutdown is reopened by the next start and drained, without being served', async () => {
    const first = await start({ unstageSyncTimeoutMs: 100 });
    await first.ensureExport(VOLUME);
    await exists(fsOf(first), 'anything');
    outage.down = true;
    await writeFile(fsOf(first), 'kept.txt', Buffer.from('kept across the restart\n'));
    await first.releaseExport(VOLUME.volumeId);
    await first.close();
    assert.equal((await records())[0]?.draining, true);
    outage.down = false;
    const second = await start();
    try {
      assert.equal(await second.stats(VOLUME.volumeId), undefined);
      await until('the volume to drain after the restart', async () => (await second.syncStatus()).length === 0);
      assert.equal((await inBucket('vol/kept.txt'))?.toString(), 'kept across the restart\n');
      assert.deepEqual(await records(), []);
    } finally {
      await second.close();
    }
  });

  it('a restart does not wait for the abort of a multipart upload the killed process left (S3 hanging)', async () => {
    const first = await start();
    await first.ensureExport(VOLUME);
    const fs = fsOf(first);
    const ino = await writeFile(fs, 'big.bin', Buffer.alloc(1000, 1));
    await fs.sync!.setUploadId(ino, 'upload-left-by-a-kill'); // as a kill -9 mid-multipart leaves it
    await first.close();
    const aborts: string[] = [];
    const hanging: VolumeStoreFactory = () => ({
      store: new Proxy(objects, {
        get(target, prop) {
          if (prop === 'abortMultipartUpload') return (key: string, id: string) => (aborts.push(`${key} ${id}`), new Promise(() => undefined));
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      }),
      close: () => undefined,
    });
    const t0 = Date.now();
    const second = await start({ storeFactory: hanging });
    try {
      assert.ok(Date.now() - t0 < 3_000, `start took ${Date.now() - t0} ms`);
      assert.deepEqual(aborts, ['vol/big.bin upload-left-by-a-kill']);
      assert.equal((await readFile(fsOf(second), 'big.bin')).length, 1000);
    } finally {
      await second.close();
    }
  });

  it('a restart with S3 unreachable serves every staged volume from the cache at once (no request before ready)', async () => {
    const first = await start();
    await first.ensureExport(VOLUME);
    await writeFile(fsOf(first), 'dirty.txt', Buffer.from('not in S3 yet\n'));
    await first.close();
    // The real S3 client this time, pointed at a port where nothing listens.
    const port = await closedPort();
    const unreachable: VolumeStoreFactory = (location) => {
      const store = createS3Store({ bucket: location.bucket, prefix: 'vol/', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' } });
      return { store, close: () => store.destroy() };
    };
    const t0 = Date.now();
    const second = await start({ storeFactory: unreachable });
    try {
      const ms = Date.now() - t0;
      assert.ok(ms < 3_000, `start took ${ms} ms`);
      assert.equal(second.ready(), true);
      assert.equal((await readFile(fsOf(second), 'dirty.txt')).toString(), 'not in S3 yet\n');
      assert.ok(await second.stats(VOLUME.volumeId));
      assert.equal((await second.syncStatus())[0]?.dirtyBytes, 14);
    } finally {
      await second.close();
    }
  });
});
