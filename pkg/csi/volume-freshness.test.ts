// The node plugin's freshness wiring: NfsVolumeExports with a VolumeFreshness (events endpoint
// on 127.0.0.1) over the embedded FolderStore. A staged volume reports its notifyUrl (what the
// StatusReporter publishes in status.nodes), an event POSTed to /events/<export> shows an object
// put directly into the bucket at once (TTL an hour), the feed survives a plugin restart
// (restore) and is detached when the volume is released.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { listNames, quietLog } from '../../test/support/linked-fs';
import { FakeSqs } from '../../test/support/fake-sqs';
import { freePort } from '../../test/support/s3files-server';
import { FolderStore } from '../s3/folder-store';
import type { VolumeStoreFactory } from './linked-volume';
import { NfsVolumeExports } from './nfs-volume-exports';
import type { ExportSpec } from './volume-exports';
import { VolumeFreshness } from './volume-freshness';
import { exportNameFor } from './volume-id';

const VOLUME: ExportSpec = { volumeId: 'v1:media:vol', location: { bucket: 'media', prefix: 'vol' }, options: { syncDelayMs: 50 } };
const NAME = exportNameFor(VOLUME.volumeId);
const TOKEN = 'node-token-0123456789abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('node plugin: volume freshness (events endpoint, notifyUrl)', function () {
  this.timeout(30_000);
  let dir: string;
  let objects: FolderStore;
  const factory: VolumeStoreFactory = () => ({ store: objects, close: () => undefined });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 's3files-freshness-'));
    objects = await FolderStore.open(path.join(dir, 'objects'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  async function start(): Promise<{ exports: NfsVolumeExports; freshness: VolumeFreshness }> {
    return startWith({});
  }

  async function startWith(extra: { region?: string }): Promise<{ exports: NfsVolumeExports; freshness: VolumeFreshness }> {
    const freshness = await VolumeFreshness.start({ listen: { host: '127.0.0.1', port: 0 }, advertise: 'http://10.1.2.3:9810/', token: TOKEN, log: quietLog });
    const exports = await NfsVolumeExports.start({
      cacheDir: path.join(dir, 'cache'), host: '127.0.0.1', port: 0, logger: quietLog, storeFactory: factory, link: { dirTtlMs: 3_600_000 }, freshness,
      ...(extra.region ? { s3Defaults: { region: extra.region } } : {}),
    });
    return { exports, freshness };
  }

  async function postCreated(freshness: VolumeFreshness, key: string): Promise<number> {
    const body = { Records: [{ eventSource: 'ceph:s3', eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString(), s3: { bucket: { name: 'media' }, object: { key } } }] };
    const res = await fetch(`http://127.0.0.1:${freshness.port}/events/${NAME}`, { method: 'POST', body: JSON.stringify(body), headers: { authorization: `Bearer ${TOKEN}` } });
    return res.status;
  }

  async function until(what: string, cond: () => Promise<boolean>, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(25);
    }
  }

  it('a staged volume gets events at /events/<export> and advertises its notifyUrl', async () => {
    let { exports, freshness } = await start();
    try {
      await exports.ensureExport(VOLUME);
      const [st] = await exports.syncStatus();
      assert.equal(st?.notifyUrl, `http://10.1.2.3:9810/events/${encodeURIComponent(NAME)}`);
      const fs = exports.linkedExport(NAME)!.fs;
      assert.deepEqual(await listNames(fs, ''), []);
      await objects.put('vol/direct.txt', Buffer.from('put directly'));
      assert.equal(await postCreated(freshness, 'vol/direct.txt'), 200);
      await until('the event applied', async () => (await listNames(fs, '')).includes('direct.txt'));

      // A restart of the plugin: the restored volume is attached again.
      await exports.close();
      await freshness.close();
      ({ exports, freshness } = await start());
      const fs2 = exports.linkedExport(NAME)!.fs;
      assert.deepEqual(await listNames(fs2, ''), ['direct.txt']);
      await objects.put('vol/after-restart.txt', Buffer.from('x'));
      assert.equal(await postCreated(freshness, 'vol/after-restart.txt'), 200);
      await until('the event applied after a restart', async () => (await listNames(fs2, '')).includes('after-restart.txt'));

      // Released (drained and closed): its route is gone.
      await exports.releaseExport(VOLUME.volumeId);
      assert.equal(await postCreated(freshness, 'vol/late.txt'), 404);
    } finally {
      await exports.close();
      await freshness.close();
    }
  });

  it('a volume with eventQueueUrl reads its SQS queue with the volume\'s credentials', async () => {
    const sqs = await FakeSqs.start();
    const { exports, freshness } = await startWith({ region: 'us-east-1' });
    try {
      const spec: ExportSpec = { ...VOLUME, options: { ...VOLUME.options, eventQueueUrl: sqs.queueUrl }, credentials: { accessKeyId: 'AKIDVOLUME', secretAccessKey: 'volume-secret' } };
      await exports.ensureExport(spec);
      const fs = exports.linkedExport(NAME)!.fs;
      await until('the queue read', async () => sqs.receives > 0 && (freshness.status()[NAME] as { sqs?: { connected: boolean } }).sqs?.connected === true);
      assert.deepEqual(await listNames(fs, ''), []);
      await objects.put('vol/queued.txt', Buffer.from('q'));
      sqs.send({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'media' }, object: { key: 'vol/queued.txt' } } }] });
      await until('the queued event applied', async () => (await listNames(fs, '')).includes('queued.txt'));
      await until('the message deleted', async () => sqs.pending === 0);
    } finally {
      await exports.close();
      await freshness.close();
      await sqs.close();
    }
  });

  it('two nodes reading one volume queue: the node that got a message relays it, both see every change', async () => {
    const sqs = await FakeSqs.start();
    const ports = [await freePort(), await freePort()];
    const nodes: Array<{ exports: NfsVolumeExports; freshness: VolumeFreshness }> = [];
    try {
      for (let i = 0; i < 2; i++) {
        const other = ports[1 - i]!;
        const freshness = await VolumeFreshness.start({
          listen: { host: '127.0.0.1', port: ports[i]! }, advertise: `http://127.0.0.1:${ports[i]}`, token: TOKEN, log: quietLog,
          peersOf: async () => [{ url: `http://127.0.0.1:${other}/events/${encodeURIComponent(NAME)}` }],
        });
        const exports = await NfsVolumeExports.start({
          cacheDir: path.join(dir, `cache-${i}`), host: '127.0.0.1', port: 0, logger: quietLog, storeFactory: factory,
          link: { dirTtlMs: 3_600_000 }, freshness, s3Defaults: { region: 'us-east-1' },
        });
        nodes.push({ exports, freshness });
        await exports.ensureExport({ ...VOLUME, options: { ...VOLUME.options, eventQueueUrl: sqs.queueUrl }, credentials: { accessKeyId: 'AKIDVOLUME', secretAccessKey: 'volume-secret' } });
      }
      const fss = nodes.map((n) => n.exports.linkedExport(NAME)!.fs);
      for (const fs of fss) assert.deepEqual(await listNames(fs, ''), []);
      await until('both queues read', async () => nodes.every((n) => (n.freshness.status()[NAME] as { sqs?: { connected: boolean } }).sqs?.connected === true), 15_000);
      const names = ['q1.txt', 'q2.txt', 'q3.txt', 'q4.txt', 'q5.txt', 'q6.txt'];
      for (const n of names) {
        await objects.put(`vol/${n}`, Buffer.from(n));
        sqs.send({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'media' }, object: { key: `vol/${n}` } } }] });
      }
      for (const fs of fss) await until('every change on both nodes', async () => JSON.stringify(await listNames(fs, '')) === JSON.stringify(names));
      const relayed = nodes.map((n) => ((n.freshness.status()[NAME] as { peers: { relayed: number } }).peers.relayed));
      assert.equal(relayed[0]! + relayed[1]!, names.length, `relayed ${JSON.stringify(relayed)}`);
    } finally {
      for (const n of nodes) {
        await n.exports.close();
        await n.freshness.close();
      }
      await sqs.close();
    }
  });
});
