// NfsVolumeExports with the real NfsServer (on 127.0.0.1, an ephemeral port) and a stand-in
// file system, so what is tested is the export bookkeeping: names, idempotency, stats,
// credentials at rest, and serving the same exports again after a restart of the plugin.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FileSystem, FsStat } from '../vfs';
import { NfsVolumeExports, type OpenFileSystemOptions } from './nfs-volume-exports';
import { testLogger } from './testing/csi-harness';
import { exportNameFor } from './volume-id';

class StandInFs {
  readonly rootIno = 1;
  closed = false;
  constructor(readonly opened: OpenFileSystemOptions) {}
  async fsstat(): Promise<FsStat> {
    return { totalBytes: 1000, freeBytes: 600, availableBytes: 500, totalFiles: 100, freeFiles: 90, availableFiles: 90 };
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

describe('NfsVolumeExports', () => {
  let dir: string;
  let opened: StandInFs[];
  const start = () =>
    NfsVolumeExports.start({
      cacheDir: dir,
      host: '127.0.0.1',
      port: 0,
      s3Defaults: { region: 'us-east-2' },
      logger: testLogger,
      openFileSystem: async (o) => {
        const fs = new StandInFs(o);
        opened.push(fs);
        return fs as unknown as FileSystem;
      },
    });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nfs-exports-'));
    opened = [];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('exports a volume once, reports stats, releases it; ready only once listening', async () => {
    const exports = await start();
    try {
      assert.equal(exports.ready(), true);
      const spec = { volumeId: 'v1:media:p', location: { bucket: 'media', prefix: 'p' }, options: { capacityBytes: 1000, uid: 1000 } };
      const a = await exports.ensureExport(spec);
      const b = await exports.ensureExport(spec);
      assert.deepEqual(a, b);
      assert.equal(a.path, `/${exportNameFor('v1:media:p')}`);
      assert.ok(a.port > 0);
      assert.equal(opened.length, 1);
      assert.deepEqual(opened[0]?.opened, { dir: path.join(dir, 'volumes', exportNameFor('v1:media:p')), capacityBytes: 1000, defaultOwner: { uid: 1000, gid: 0, mode: 0o755 } });
      assert.deepEqual(await exports.stats('v1:media:p'), { totalBytes: 1000, usedBytes: 400, availableBytes: 500, totalInodes: 100, usedInodes: 10, freeInodes: 90 });
      await exports.releaseExport('v1:media:p');
      await exports.releaseExport('v1:media:p');
      assert.equal(opened[0]?.closed, true);
      assert.equal(await exports.stats('v1:media:p'), undefined);
    } finally {
      await exports.close();
    }
  });

  it('keeps credentials at rest with mode 0600 and never in the export list', async () => {
    const exports = await start();
    try {
      await exports.ensureExport({ volumeId: 'media/x', location: { bucket: 'media', prefix: 'x' }, options: {}, credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' } });
      const credFile = path.join(dir, 'csi', 'credentials', `${exportNameFor('media/x')}.json`);
      assert.equal((await stat(credFile)).mode & 0o777, 0o600);
      const list = await readFile(path.join(dir, 'csi', 'exports.json'), 'utf8');
      assert.ok(!list.includes('SK'));
      assert.deepEqual(JSON.parse(list)[0].location, { bucket: 'media', prefix: 'x', region: 'us-east-2' });
    } finally {
      await exports.close();
    }
  });

  it('serves the same exports again after a restart, before reporting ready', async () => {
    const first = await start();
    await first.ensureExport({ volumeId: 'v1:media:p', location: { bucket: 'media', prefix: 'p' }, options: {} });
    await first.close();
    const second = await start();
    try {
      assert.ok(await second.stats('v1:media:p'));
      assert.equal(opened.length, 2);
    } finally {
      await second.close();
    }
  });
});
