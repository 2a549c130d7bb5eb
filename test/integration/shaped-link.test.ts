// The shaped S3 link (test/support/shaped-link.ts) against a real Ceph RGW: the latency it adds,
// the per-connection and total bandwidth caps, keep-alive, the request counters by S3 operation
// (driven through S3Store, the client the product uses) and the in-flight series; and the SDK
// floor helpers the benchmark measures its targets against. Timing bounds are lower bounds with
// generous upper ones: the machine is shared.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { S3Store } from '../../pkg/s3/s3-store';
import { rgwStore, skipS3, useSharedRgw, type CephRgw } from '../support/ceph-rgw';
import { classifyRequest, countsBetween, countsSince, type LinkCounts, type RequestKind } from '../support/link-meter';
import { fetchKeys, floorClient, listAndHead, putObjects, rangedGet } from '../support/sdk-floor';
import { startShapedLink, type ShapedLink, type ShapedLinkOptions } from '../support/shaped-link';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const MiB = 1024 * 1024;

(skipS3() ? describe.skip : describe)('shaped S3 link (Ceph RGW)', function () {
  this.timeout(120_000);
  const rgw = useSharedRgw();
  let gw: CephRgw;
  const bucket = `shaped-${Date.now().toString(36)}`;
  const open: Array<{ close(): Promise<void> | void }> = [];

  before(async () => {
    gw = await rgw();
    await gw.createBucket(bucket);
  });
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
  });

  async function link(opts: Partial<ShapedLinkOptions> = {}): Promise<ShapedLink> {
    const l = await startShapedLink({ target: gw.endpoint, ...opts });
    open.push(l);
    return l;
  }
  function store(endpoint: string, extra: Partial<ConstructorParameters<typeof S3Store>[0]> = {}): S3Store {
    const s = rgwStore(gw, bucket, {
      endpoint,
      capabilities: { uploadPartCopy: true, conditionalWrites: false, conditionalMultipartComplete: false, copySourceIfMatch: false },
      ...extra,
    });
    open.push({ close: () => s.destroy() });
    return s;
  }
  const floor = (endpoint: string) => {
    const c = floorClient({ endpoint, region: gw.region, accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey });
    open.push({ close: () => c.destroy() });
    return c;
  };
  async function timed(fn: () => Promise<unknown>): Promise<number> {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  }
  const direct = () => store(gw.endpoint);

  it('adds the configured first-byte latency once per request, and reuses the connection', async () => {
    await direct().put('lat/obj', Buffer.from('x'));
    const l = await link({ latencyMs: 80 });
    const s = store(l.endpoint);
    await s.head('lat/obj'); // connection set up
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) samples.push(await timed(() => s.head('lat/obj')));
    assert.ok(Math.min(...samples) >= 79, `fastest HEAD ${Math.min(...samples)} ms < 80 ms`);
    assert.ok([...samples].sort((a, b) => a - b)[2]! < 80 + 1000, `median HEAD ${samples} ms`);
    // Six sequential requests on a keep-alive socket: one connection, one upstream each.
    assert.equal(l.counts().connections, 1);
    assert.equal(l.counts().requests.head, 6);
  });

  it('caps each connection at its rate in both directions', async () => {
    const body = randomBytes(3 * MiB);
    const l = await link({ latencyMs: 0, connBytesPerSec: 3e6 });
    const s = store(l.endpoint);
    const putMs = await timed(() => s.put('cap/obj', body));
    const read = await timed(async () => assert.equal((await s.getBuffer('cap/obj')).data.length, body.length));
    const floorMs = (body.length / 3e6) * 1000 * 0.95; // less the 16 KiB burst, with margin
    assert.ok(putMs >= floorMs, `PUT of 3 MiB at 3 MB/s took ${putMs} ms`);
    assert.ok(read >= floorMs, `GET of 3 MiB at 3 MB/s took ${read} ms`);
    assert.ok(read < 3 * floorMs + 3000, `GET took ${read} ms`);
    const c = l.counts();
    assert.equal(c.putBytes, body.length);
    assert.equal(c.getBytes, body.length);
  });

  it('gives two parallel connections their own cap each, and a total cap is shared', async () => {
    const body = randomBytes(3 * MiB);
    await direct().put('cap/a', body);
    await direct().put('cap/b', body);
    const both = async (l: ShapedLink) => {
      const s = store(l.endpoint);
      return timed(() => Promise.all(['cap/a', 'cap/b'].map((k) => s.getBuffer(k))));
    };
    const one = (body.length / 3e6) * 1000;
    const perConn = await link({ latencyMs: 0, connBytesPerSec: 3e6 });
    const parallelMs = await both(perConn);
    assert.equal(perConn.counts().connections, 2);
    assert.ok(parallelMs >= one * 0.95, `two GETs in parallel took ${parallelMs} ms`);
    assert.ok(parallelMs < one * 1.6, `two GETs in parallel took ${parallelMs} ms: not ${one} ms as if each had its cap`);
    const shared = await link({ latencyMs: 0, connBytesPerSec: 3e6, totalBytesPerSec: 3e6 });
    const sharedMs = await both(shared);
    assert.ok(sharedMs >= 2 * one * 0.95, `two GETs under a total cap took ${sharedMs} ms, less than ${2 * one} ms`);
  });

  it('counts each S3 operation by kind, with GET bytes and ranged GETs', async () => {
    const l = await link({ latencyMs: 0, connBytesPerSec: 0 });
    const s = store(l.endpoint);
    const data = randomBytes(6 * MiB);
    let before: LinkCounts = l.counts();
    const expect = async (what: RequestKind, fn: () => Promise<unknown>, extra: (d: LinkCounts) => void = () => undefined) => {
      before = l.counts();
      await fn();
      const d = countsSince(before, l.counts());
      assert.equal(d.requests[what], 1, `${what}: ${JSON.stringify(d.requests)}`);
      const others = Object.entries(d.requests).filter(([k]) => k !== what).reduce((n, [, v]) => n + v, 0);
      assert.equal(others, 0, `${what} also sent ${JSON.stringify(d.requests)}`);
      extra(d);
    };
    await expect('put', () => s.put('kinds/a', data), (d) => assert.equal(d.putBytes, data.length));
    await expect('head', () => s.head('kinds/a'));
    await expect('get', () => s.getBuffer('kinds/a'), (d) => {
      assert.equal(d.getBytes, data.length);
      assert.equal(d.rangedGets, 0);
    });
    await expect('get', () => s.getBuffer('kinds/a', { range: { start: 10, end: 1033 } }), (d) => {
      assert.equal(d.getBytes, 1024);
      assert.equal(d.rangedGets, 1);
    });
    await expect('list', () => s.list({ prefix: 'kinds/', delimiter: '/' }));
    await expect('copy', () => s.copy('kinds/a', 'kinds/b'));
    let uploadId = '';
    await expect('mpuCreate', async () => ({ uploadId } = await s.createMultipartUpload('kinds/m')));
    let p1 = { etag: '' };
    await expect('part', async () => (p1 = await s.uploadPart('kinds/m', uploadId, 1, data)), (d) => assert.equal(d.putBytes, data.length));
    let p2 = { etag: '' };
    await expect('copy', async () => (p2 = await s.uploadPartCopy('kinds/m', uploadId, 2, 'kinds/a', { range: { start: 0, end: 99 } })));
    before = l.counts();
    await s.completeMultipartUpload('kinds/m', uploadId, [{ partNumber: 1, etag: p1.etag }, { partNumber: 2, etag: p2.etag }]);
    assert.equal(countsSince(before, l.counts()).requests.mpuComplete, 1);
    const abort = await s.createMultipartUpload('kinds/n');
    await expect('mpuAbort', () => s.abortMultipartUpload('kinds/n', abort.uploadId));
    await expect('delete', () => s.delete('kinds/b'));
    await expect('delete', () => s.deleteMany(['kinds/a', 'kinds/m']));
    assert.deepEqual((await direct().list({ prefix: 'kinds/' })).objects, []);
    assert.equal(l.counts().inFlight, 0);
  });

  it('records requests in flight: peak and mean over a window', async () => {
    const keys = Array.from({ length: 16 }, (_, i) => `inflight/k${i}`);
    const d = direct();
    await Promise.all(keys.map((k) => d.put(k, Buffer.from(k))));
    const l = await link({ latencyMs: 100 });
    const c = floor(l.endpoint);
    await fetchKeys(c, bucket, keys.slice(0, 1), 1); // a connection exists: the window holds only the burst
    const t0 = performance.now();
    const r = await fetchKeys(c, bucket, keys, 8);
    const t1 = performance.now();
    const w = l.inFlight(t0, t1);
    assert.equal(w.peak, 8);
    assert.ok(w.meanWhileBusy > 4, `mean in flight while busy ${w.meanWhileBusy}`);
    assert.ok(w.busyMs >= 2 * 100 * 0.95, `busy ${w.busyMs} ms for two waves of 100 ms requests`);
    assert.equal(r.bytes, keys.reduce((n, k) => n + k.length, 0));
    const inWindow = countsBetween(l.meter, t0, t1);
    assert.equal(inWindow.requests.get, 16);
    assert.equal(inWindow.getBytes, r.bytes);
    assert.equal(inWindow.peak, 8);
    // Before the burst, one request at a time.
    assert.equal(l.inFlight(0, t0).peak, 1);
    l.reset();
    assert.deepEqual(l.counts().requests.get, 0);
  });

  it('runs the SDK floor workloads over the link with the parallelism asked', async () => {
    const l = await link({ latencyMs: 100 });
    const c = floor(l.endpoint);
    const keys = Array.from({ length: 40 }, (_, i) => `floor/d${i % 4}/f${i}`);
    let t0 = performance.now();
    const put = await putObjects(c, bucket, keys, randomBytes(1000), 32);
    assert.equal(l.counts().requests.put, 40);
    // 32 asked; the first may finish before the last starts (connection set-up, signing on a busy machine).
    const peak = l.inFlight(t0).peak;
    assert.ok(peak > 16 && peak <= 32, `peak in flight ${peak} for 32 at a time`);
    l.reset();
    t0 = performance.now();
    const listed = await listAndHead(c, bucket, 'floor/', 32);
    assert.equal(listed.objects, 40);
    assert.equal(l.counts().requests.list, 1);
    assert.equal(l.counts().requests.head, 40);
    l.reset();
    const fetched = await fetchKeys(c, bucket, keys, 32);
    assert.equal(fetched.bytes, 40 * 1000);
    assert.equal(l.counts().requests.get, 40);
    await direct().put('floor/big', randomBytes(20 * MiB));
    l.reset();
    t0 = performance.now();
    const big = await rangedGet(c, bucket, 'floor/big', 20 * MiB, 8, MiB);
    assert.equal(big.requests, 20);
    assert.equal(l.counts().rangedGets, 20);
    assert.equal(l.counts().getBytes, 20 * MiB);
    assert.equal(l.inFlight(t0).peak, 8);
    assert.ok(put.ms > 0 && listed.ms > 0 && fetched.ms > 0 && big.ms > 0);
  });
});

describe('shaped link: request classification of other clients', () => {
  const kind = (method: string, url: string, headers: Record<string, string> = {}) => classifyRequest(method, url, headers);
  it('knows the requests s3fs and rclone send that the SDK tests above do not', () => {
    assert.equal(kind('GET', '/bench?delimiter=%2F&max-keys=1000&prefix=data%2F'), 'list'); // ListObjects v1 (s3fs)
    assert.equal(kind('GET', '/bench/?list-type=2&prefix=data%2F'), 'list');
    assert.equal(kind('GET', '/'), 'other'); // ListBuckets
    assert.equal(kind('HEAD', '/bench'), 'other'); // HeadBucket
    assert.equal(kind('HEAD', '/bench/data/'), 'head'); // a directory marker
    assert.equal(kind('GET', '/bench/data/a?uploadId=x'), 'other'); // ListParts
    assert.equal(kind('GET', '/bench/data/a'), 'get');
    assert.equal(kind('PUT', '/bench/data/b', { 'x-amz-copy-source': '/bench/data/a' }), 'copy'); // s3fs rename, metadata update
    assert.equal(kind('PUT', '/bench/data/b?partNumber=2&uploadId=x', { 'x-amz-copy-source': '/bench/data/a' }), 'copy');
    assert.equal(kind('PUT', '/bench/data/b?partNumber=2&uploadId=x'), 'part');
    assert.equal(kind('DELETE', '/bench/data/b?uploadId=x'), 'mpuAbort');
    assert.equal(kind('POST', '/bench?delete'), 'delete');
  });
});
