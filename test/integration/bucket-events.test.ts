// Bucket change events from a real Ceph RGW (a topic with push-endpoint, the bucket's
// notification configuration), pushed to the events endpoint, with the directory TTL at an hour
// so that only an event can make a change show: objects created, overwritten, their metadata
// changed (same ETag), deleted (also nested, and a directory emptied) with an S3 client show within 2 s; our own uploads cost no
// listing; an object with local changes not uploaded yet is not replaced (conflict rule); bad
// requests are refused and change nothing; s3:TestEvent is a gap. (Its own RGW, civetweb.)
import assert from 'node:assert/strict';
import { EventRouter, feedFor, startEventEndpoint, type ChangeFeed, type EventEndpoint } from '../../pkg/events';
import { S3Store } from '../../pkg/s3/s3-store';
import { rgwStore, skipS3, startCephRgw, type CephRgw } from '../support/ceph-rgw';
import { linkedExport, listNames, quietLog, readFile, resolve, uniquePrefix, writeFile, type TestExport } from '../support/linked-fs';
import { createPushTopic, notifyBucket } from '../support/rgw-notifications';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TOKEN = 'test-events-token-0123456789';
const HOUR = 3_600_000;

/** Polls `check` every 25 ms; returns the ms it took to hold, or throws after `limitMs`. */
async function within(limitMs: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    // A read racing the change may fail (the object changed under it): not yet.
    if (await check().catch(() => false)) return Date.now() - t0;
    if (Date.now() - t0 > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await sleep(25);
  }
}

(skipS3() ? describe.skip : describe)('bucket events pushed by Ceph RGW', function () {
  this.timeout(180_000);
  let gw: CephRgw;
  let store: S3Store;
  let endpoint: EventEndpoint;
  let router: EventRouter;
  const bucket = `events-${Date.now().toString(36)}`;
  let prefix = '';
  let t: TestExport | undefined;
  let feed: ChangeFeed;
  const timings: Record<string, number> = {};

  before(async () => {
    // Its own gateway, on civetweb: radosgw 16 under beast aborts on a multi-object delete in a
    // bucket with HTTP notifications (docs/freshness.md).
    gw = await startCephRgw(2, 'civetweb');
    await gw.createBucket(bucket);
    store = rgwStore(gw, bucket);
    await store.detectCapabilities();
    router = new EventRouter(quietLog);
    endpoint = await startEventEndpoint({ host: '127.0.0.1', port: 0, token: TOKEN, router, log: quietLog });
    const arn = await createPushTopic(gw, `s3files-${bucket}`, `http://127.0.0.1:${endpoint.address.port}/events?token=${TOKEN}`);
    await notifyBucket(gw, bucket, arn);
  });

  beforeEach(async function () {
    prefix = uniquePrefix(this.currentTest?.title.slice(0, 16).replace(/[^a-z0-9]+/gi, '-') ?? 't');
  });

  async function link(extra: Parameters<typeof linkedExport>[2] = {}): Promise<TestExport> {
    t = await linkedExport(store, prefix, { dirTtlMs: HOUR, ...extra });
    feed = feedFor('data', bucket, t, quietLog, { coalesceMs: 20 });
    router.add(feed);
    return t;
  }

  afterEach(async () => {
    await router.remove('data');
    await t?.cleanup();
    t = undefined;
  });

  after(async () => {
    await endpoint?.close();
    store?.destroy();
    await gw?.stop();
    // eslint-disable-next-line no-console
    console.log(`    event → visible (ms): ${JSON.stringify(timings)}`);
  });

  it('created, overwritten and deleted objects show within 2 s (TTL one hour)', async () => {
    await store.put(`${prefix}a/old.txt`, Buffer.from('old'));
    const t = await link();
    assert.deepEqual(await listNames(t.fs, ''), ['a']);
    assert.deepEqual(await listNames(t.fs, 'a'), ['old.txt']);

    await store.put(`${prefix}a/new file+x.txt`, Buffer.from('fresh'));
    timings.created = await within(2000, 'created object', async () => (await listNames(t.fs, 'a')).includes('new file+x.txt'));
    assert.equal((await readFile(t.fs, 'a/new file+x.txt')).toString(), 'fresh');

    await store.put(`${prefix}a/old.txt`, Buffer.from('overwritten!'));
    timings.overwritten = await within(2000, 'overwritten object', async () => (await readFile(t.fs, 'a/old.txt')).toString() === 'overwritten!');

    // Metadata only (a copy onto itself, as s3fs's chmod does): same ETag, new mode and owner.
    await sleep(1100); // listings show LastModified in whole seconds
    await store.copy(`${prefix}a/old.txt`, `${prefix}a/old.txt`, { metadata: { mode: String(0o100600), uid: '7', gid: '8' } });
    const ino = await resolve(t.fs, 'a/old.txt');
    timings.metadataChanged = await within(2000, 'metadata changed', async () => {
      const a = await t.fs.getattr(ino);
      return a.mode === 0o600 && a.uid === 7 && a.gid === 8;
    });

    await store.delete(`${prefix}a/old.txt`);
    timings.deleted = await within(2000, 'deleted object', async () => !(await listNames(t.fs, 'a')).includes('old.txt'));

    await store.put(`${prefix}b/c/deep.txt`, Buffer.from('deep'));
    timings.newDirectory = await within(2000, 'new directory', async () => (await listNames(t.fs, '')).includes('b'));
    assert.equal((await readFile(t.fs, 'b/c/deep.txt')).toString(), 'deep');

    await store.delete(`${prefix}a/new file+x.txt`);
    timings.emptiedDirectory = await within(2000, 'implicit directory emptied', async () => !(await listNames(t.fs, '')).includes('a'));
    assert.equal(feed.status().lastError, undefined);
  });

  it('our own uploads and deletes cost no listing', async () => {
    const t = await link({ syncDelayMs: 50 });
    await listNames(t.fs, '');
    await writeFile(t.fs, 'mine.txt', Buffer.from('mine'));
    await t.reconciler.drain();
    const listingsBefore = t.fs.remoteChanges!.counters.listings;
    await t.fs.remove({ uid: 0, gid: 0, gids: [] }, t.fs.rootIno, 'mine.txt');
    await t.reconciler.drain();
    await sleep(300);
    await feed.settled();
    const st = feed.status();
    assert.ok(st.own >= 2, `own writes recognised: ${JSON.stringify(st)}`);
    assert.equal(st.applied.relisted, 0, JSON.stringify(st));
    assert.equal(t.fs.remoteChanges!.counters.listings, listingsBefore);
  });

  it('a file with local changes not uploaded is not replaced by an event (conflict rule)', async () => {
    await store.put(`${prefix}doc.txt`, Buffer.from('v1'));
    const t = await link({ syncDelayMs: 60_000 });
    assert.equal((await readFile(t.fs, 'doc.txt')).toString(), 'v1');
    const ino = await resolve(t.fs, 'doc.txt');
    await t.fs.write({ uid: 0, gid: 0, gids: [] }, ino, 0, Buffer.from('L1'), 'file-sync');
    await store.put(`${prefix}doc.txt`, Buffer.from('remote v2'));
    await store.put(`${prefix}other.txt`, Buffer.from('o'));
    await within(2000, 'the other object', async () => (await listNames(t.fs, '')).includes('other.txt'));
    await feed.settled();
    assert.equal((await readFile(t.fs, 'doc.txt')).toString(), 'L1');
  });

  it('[error] bad requests are refused and change nothing; s3:TestEvent is a gap', async () => {
    await store.put(`${prefix}x.txt`, Buffer.from('x'));
    const t = await link();
    await listNames(t.fs, '');
    const url = `http://127.0.0.1:${endpoint.address.port}`;
    const post = (path: string, body: string, headers: Record<string, string> = {}) => fetch(`${url}${path}`, { method: 'POST', body, headers });
    assert.equal((await post('/events', '{}')).status, 401);
    assert.equal((await post('/events?token=wrong', '{}')).status, 401);
    assert.equal((await post(`/events?token=${TOKEN}`, 'not json')).status, 400);
    assert.equal((await post(`/events?token=${TOKEN}`, '{"Records":[{"eventName":"ObjectCreated:Put"}]}')).status, 400);
    assert.equal((await post('/events/nope', '{}', { authorization: `Bearer ${TOKEN}` })).status, 404);
    assert.equal((await post(`/events?token=${TOKEN}`, 'x'.repeat(2 * 1024 * 1024))).status, 413);
    assert.equal((await fetch(`${url}/events?token=${TOKEN}`)).status, 405);
    const foreign = { Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'another-bucket' }, object: { key: `${prefix}x.txt` } } }] };
    const r = await post(`/events/data`, JSON.stringify(foreign), { 'x-s3files-token': TOKEN });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { unrouted: number }).unrouted, 1);
    assert.deepEqual(await listNames(t.fs, ''), ['x.txt']);

    // Events lost while nobody listened: the TTL (an hour) hides the change until a gap.
    await router.remove('data');
    await store.put(`${prefix}unannounced.txt`, Buffer.from('u'));
    await sleep(300);
    assert.deepEqual(await listNames(t.fs, ''), ['x.txt']);
    feed = feedFor('data', bucket, t, quietLog, { coalesceMs: 20 });
    router.add(feed);
    const gapsBefore = t.fs.remoteChanges!.counters.gaps;
    const test = { Service: 'Amazon S3', Event: 's3:TestEvent', Time: new Date().toISOString(), Bucket: bucket };
    assert.equal((await post(`/events?token=${TOKEN}`, JSON.stringify(test))).status, 200);
    await within(2000, 'gap applied', async () => t.fs.remoteChanges!.counters.gaps === gapsBefore + 1);
    assert.deepEqual(await listNames(t.fs, ''), ['unannounced.txt', 'x.txt']);
  });
});

