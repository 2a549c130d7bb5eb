// NfsVolumeExports with the real NfsServer (127.0.0.1, an ephemeral port), real linked caches
// (pkg/reconcile) and a real object store: the embedded FolderStore, behind an outage switch that
// makes every call fail as an unreachable S3 would (TransientError). The RGW suite
// (test/integration/csi-volume-link.test.ts) covers S3Store, secrets and the error codes of a
// real server. Sync delays are an hour: whatever reaches the store got there by the drain.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile as readHostFile, rm, stat, writeFile as writeHostFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { exists, mkdirs, quietLog, readFile, resolve, writeFile } from '../../test/support/linked-fs';
import { captureLogger } from '../../test/support/rpc-test-program';
import { SharedCacheBudget } from '../cache';
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

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
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

/** Bytes allocated on disk under `p` (du), 0 when it does not exist. */
async function diskUsage(p: string): Promise<number> {
  const st = await lstat(p).catch(() => undefined);
  if (!st) return 0;
  let total = st.blocks * 512;
  if (st.isDirectory()) for (const name of await readdir(p)) total += await diskUsage(path.join(p, name));
  return total;
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

  it('unstage, shutdown and the next start say how much is still to reach S3', async () => {
    const { logger, entries } = captureLogger();
    const said = (prefix: string) => entries.filter((e) => String(e.message).startsWith(prefix)).map((e) => ({ message: e.message, pendingFiles: e.pendingFiles, pendingBytes: e.pendingBytes }));
    const first = await start({ unstageSyncTimeoutMs: 200, logger });
    await first.ensureExport(VOLUME);
    await exists(fsOf(first), 'anything');
    outage.down = true;
    await writeFile(fsOf(first), 'kept.txt', Buffer.from('kept across the restart\n'));
    await first.releaseExport(VOLUME.volumeId);
    assert.deepEqual(said('unstaging'), [{ message: 'unstaging: waiting for changes to reach S3', pendingFiles: 1, pendingBytes: 24 }]);
    await first.close();
    assert.deepEqual(said('shutting down'), [{ message: 'shutting down: what is not in S3 stays queued on disk and resumes at the next start', pendingFiles: 1, pendingBytes: 24 }]);
    outage.down = false;
    const second = await start({ logger });
    try {
      assert.deepEqual(said('resuming').map((e) => e.message), ['resuming 1 upload (24 bytes) and 0 deletions']);
      await until('the volume to drain after the restart', async () => (await second.syncStatus()).length === 0);
    } finally {
      await second.close();
    }
  });

  describe("the node's disk", () => {
    const OTHER: ExportSpec = { ...VOLUME, volumeId: 'v1:media:other', location: { bucket: 'media', prefix: 'other' } };
    const volumesDir = () => path.join(dir, 'cache', 'volumes');
    const volumeDirs = async () => readdir(volumesDir()).catch(() => [] as string[]);
    const writeRecords = (recs: unknown) => writeHostFile(path.join(dir, 'cache', 'csi', 'exports.json'), JSON.stringify(recs));

    it('stage/unstage/delete cycles leave the disk as it was: a released volume\'s cache is removed once all is in S3', async () => {
      const exports = await start();
      try {
        await mkdir(volumesDir(), { recursive: true }); // the (empty) volumes directory stays
        const before = await diskUsage(volumesDir());
        for (let cycle = 0; cycle < 3; cycle++) {
          for (const spec of [VOLUME, OTHER]) {
            await exports.ensureExport(spec);
            const fs = exports.linkedExport(exportNameFor(spec.volumeId))!.fs;
            await writeFile(fs, `cycle-${cycle}.bin`, randomBytes(2 << 20));
          }
          const staged = await diskUsage(volumesDir());
          assert.ok(staged >= before + 4 * (1 << 20), `staged: ${staged} bytes on disk, before ${before}`);
          for (const spec of [VOLUME, OTHER]) await exports.releaseExport(spec.volumeId);
          assert.deepEqual(await volumeDirs(), [], `cycle ${cycle}: volume directories left`);
          assert.equal(await diskUsage(volumesDir()), before, `cycle ${cycle}: disk usage after unstage`);
          assert.equal((await inBucket(`vol/cycle-${cycle}.bin`))?.length, 2 << 20);
          assert.equal((await inBucket(`other/cycle-${cycle}.bin`))?.length, 2 << 20);
        }
      } finally {
        await exports.close();
      }
    });

    it('at start, an orphan cache fully in S3 is removed; one with changes not in S3 is kept, shown, and synced when staged again', async () => {
      const first = await start({ unstageSyncTimeoutMs: 100 });
      await first.ensureExport({ ...VOLUME, credentials: { accessKeyId: 'AKID', secretAccessKey: 'SECRET' } });
      await first.ensureExport(OTHER);
      await writeFile(fsOf(first), 'synced.txt', Buffer.from('in the bucket'));
      await first.linkedExport(NAME)!.reconciler.drain();
      await exists(first.linkedExport(exportNameFor(OTHER.volumeId))!.fs, 'anything');
      outage.down = true;
      await writeFile(first.linkedExport(exportNameFor(OTHER.volumeId))!.fs, 'pending.txt', Buffer.from('not in the bucket yet'));
      await first.close();
      assert.equal((await readdir(path.join(dir, 'cache', 'csi', 'credentials'))).length, 1);
      // A crash after the records were saved without them (or an older s3files): orphans.
      await writeRecords([]);
      outage.down = false;
      const { logger, entries } = captureLogger();
      const second = await start({ logger });
      try {
        assert.deepEqual(await volumeDirs(), [exportNameFor(OTHER.volumeId)]);
        assert.deepEqual(await readdir(path.join(dir, 'cache', 'csi', 'credentials')).catch(() => []), [], 'the removed orphan\'s credentials are gone too');
        assert.deepEqual(entries.filter((e) => String(e.message).startsWith('volume cache')).map((e) => [e.message, e.orphan, e.reason]), [
          ['volume cache removed from the node: everything in it is in the bucket', NAME, undefined],
          ['volume cache kept on the node: it holds data that is not in the bucket', exportNameFor(OTHER.volumeId), '1 changes to upload'],
        ]);
        assert.deepEqual(second.describe()[`orphan:${exportNameFor(OTHER.volumeId)}`], {
          state: 'orphan', dir: path.join(volumesDir(), exportNameFor(OTHER.volumeId)), notInBucket: '1 changes to upload',
        });
        await second.ensureExport(OTHER);
        await second.releaseExport(OTHER.volumeId);
        assert.equal((await inBucket('other/pending.txt'))?.toString(), 'not in the bucket yet');
        assert.deepEqual(await volumeDirs(), []);
      } finally {
        await second.close();
      }
    });

    it('a volume holding a file too long for S3 is unstaged at once but kept open and on disk, reported, until a rename makes it fit', async () => {
      const exports = await start({ unstageSyncTimeoutMs: 20_000 });
      try {
        await exports.ensureExport(VOLUME);
        const fs = fsOf(exports);
        const deep = ['a', 'b', 'c', 'd'].map((c) => c.repeat(250)).join('/');
        const dirIno = await mkdirs(fs, deep);
        const name = `${'f'.repeat(30)}.txt`; // the key: 4 + 4 × 251 + 34 = 1,042 bytes
        await writeFile(fs, `${deep}/${name}`, Buffer.from('too deep for S3'));
        const t0 = Date.now();
        await exports.releaseExport(VOLUME.volumeId);
        assert.ok(Date.now() - t0 < 10_000, `releaseExport took ${Date.now() - t0} ms`);
        assert.deepEqual((await exports.syncStatus()).map((v) => [v.volumeId, v.dirtyBytes, v.unsyncable]), [[VOLUME.volumeId, 0, 1]]);
        assert.deepEqual(await volumeDirs(), [NAME]);
        assert.equal((await records())[0]?.draining, true);
        // Staged again, renamed to fit: uploaded, and the next unstage removes everything.
        await exports.ensureExport(VOLUME);
        await fs.rename({ uid: 0, gid: 0, gids: [] }, dirIno, name, fs.rootIno, 'file.txt');
        await exports.releaseExport(VOLUME.volumeId);
        assert.equal((await inBucket('vol/file.txt'))?.toString(), 'too deep for S3');
        assert.deepEqual(await volumeDirs(), []);
        assert.deepEqual(await exports.syncStatus(), []);
      } finally {
        await exports.close();
      }
    });

    it('a node-wide cache size: clean data is evicted across volumes until all of them fit', async () => {
      const budget = new SharedCacheBudget(3 << 20);
      const exports = await start({ link: { cacheBudget: budget } });
      try {
        const data = new Map<string, Buffer>();
        for (const spec of [VOLUME, OTHER]) {
          await exports.ensureExport(spec);
          const linked = exports.linkedExport(exportNameFor(spec.volumeId))!;
          const bytes = randomBytes(2 << 20);
          data.set(spec.volumeId, bytes);
          await writeFile(linked.fs, 'big.bin', bytes);
          await linked.reconciler.drain();
        }
        assert.ok(budget.usedBytes() >= 4 << 20, `cached: ${budget.usedBytes()}`);
        await until('the volumes to fit the node cache size', async () => budget.usedBytes() <= 3 << 20, 15_000);
        for (const spec of [VOLUME, OTHER]) {
          const back = await readFile(exports.linkedExport(exportNameFor(spec.volumeId))!.fs, 'big.bin');
          assert.ok(back.equals(data.get(spec.volumeId)!), 'evicted data reads back from the bucket');
        }
      } finally {
        await exports.close();
      }
    });
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
