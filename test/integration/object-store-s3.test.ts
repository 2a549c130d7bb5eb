// S3Store against a real Ceph RGW through the fault proxy: the retry policy (what is retried,
// how often, with which delays), error mapping without secrets, the ambiguous "applied but the
// reply was lost" cases, timeouts, the concurrency bound, capability detection, and a batch
// that must come through a 20% failure rate intact.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { AccessDeniedError, NoSuchBucketError, NotFoundError, PreconditionFailedError, ThrottledError, TransientError } from '../../pkg/s3/errors';
import { md5Hex } from '../../pkg/s3/etag';
import { S3Store } from '../../pkg/s3/s3-store';
import type { S3StoreConfig } from '../../pkg/s3/s3-config';
import { CephRgw, skipS3, useSharedRgw } from '../support/ceph-rgw';
import { FaultProxy, seededRandom, startFaultProxy } from '../support/fault-proxy';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const RGW_CAPABILITIES = { uploadPartCopy: true, conditionalWrites: true, conditionalMultipartComplete: false, copySourceIfMatch: false };

(skipS3() ? describe.skip : describe)('S3Store on Ceph RGW through the fault proxy', function () {
  this.timeout(120000);
  const rgw = skipS3() ? undefined : useSharedRgw();
  let gw: CephRgw;
  let proxy: FaultProxy;
  const bucket = `faults-${Date.now().toString(36)}`;
  const sleeps: number[] = [];
  const stores: S3Store[] = [];

  /** A store through the proxy; sleeps are recorded, not waited, unless `realSleep`. */
  function storeVia(extra: Partial<S3StoreConfig> = {}, realSleep = false): S3Store {
    const store = new S3Store({
      bucket, endpoint: proxy.endpoint, region: gw.region, forcePathStyle: true,
      credentials: { accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey },
      retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000 },
      retryDeps: realSleep ? undefined : { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
      capabilities: RGW_CAPABILITIES,
      ...extra,
    });
    stores.push(store);
    return store;
  }

  before(async function () {
    gw = await rgw!();
    await gw.createBucket(bucket);
    proxy = await startFaultProxy({ target: gw.endpoint, seed: 7 });
  });
  beforeEach(() => {
    proxy.resetCounts();
    proxy.rate = 0;
    sleeps.length = 0;
  });
  after(async () => {
    for (const s of stores) s.destroy();
    await proxy?.close();
  });

  it('signs for the proxy host and RGW accepts it (Host forwarded unchanged)', async () => {
    const s = storeVia();
    await s.put('host/check', Buffer.from('ok'));
    assert.equal((await s.getBuffer('host/check')).data.toString(), 'ok');
    assert.equal(proxy.counts.forwarded, 2);
  });

  it('[retry] 503 SlowDown twice, then success; full-jitter delays from the policy', async () => {
    const s = storeVia();
    proxy.script('slowdown', 'slowdown');
    const { etag } = await s.put('retry/slowdown', Buffer.from('data'));
    assert.equal(etag, md5Hex(Buffer.from('data')));
    assert.equal(proxy.counts.requests, 3);
    assert.deepEqual(sleeps, [50, 100]); // random 0.5 × min(1000, 100 × 2^(n-1))
  });

  it('[retry] 500 InternalError, reset before the request lands, then success', async () => {
    const s = storeVia();
    proxy.script('internal', 'reset-request');
    await s.put('retry/mixed', Buffer.from('abc'));
    assert.equal(proxy.counts.requests, 3);
    assert.equal((await s.getBuffer('retry/mixed')).data.toString(), 'abc');
  });

  it('[give up] after maxAttempts SlowDowns: ThrottledError; after 500s: TransientError', async () => {
    const s = storeVia();
    proxy.script('slowdown', 'slowdown', 'slowdown', 'slowdown');
    await assert.rejects(s.head('retry/x'), (err: Error) => err instanceof ThrottledError && /after 4 attempts/.test(err.message));
    assert.equal(proxy.counts.requests, 4);
    assert.deepEqual(sleeps, [50, 100, 200]);
    proxy.resetCounts();
    proxy.script('internal', 'internal', 'internal', 'internal');
    await assert.rejects(s.put('retry/x', Buffer.from('x')), TransientError);
    assert.equal(proxy.counts.requests, 4);
  });

  it('[no retry] 403, 404 and 412 are answered once and mapped', async () => {
    const s = storeVia();
    await s.put('noretry/exists', Buffer.from('x'));
    proxy.resetCounts();
    await assert.rejects(s.head('noretry/missing'), NotFoundError);
    await assert.rejects(s.put('noretry/exists', Buffer.from('y'), { ifNoneMatch: '*' }), PreconditionFailedError);
    const wrongSecret = 'wrong-secret-value-that-must-not-leak';
    const bad = storeVia({ credentials: { accessKeyId: gw.accessKeyId, secretAccessKey: wrongSecret } });
    const err = await bad.getBuffer('noretry/exists').catch((e: Error) => e);
    assert.ok(err instanceof AccessDeniedError, String(err));
    assert.equal(proxy.counts.requests, 3);
    assert.deepEqual(sleeps, []);
    const everything = `${err.message} ${JSON.stringify(err)} ${String((err as Error & { cause?: Error }).cause?.message)} ${err.stack}`;
    assert.ok(!everything.includes(wrongSecret));
    assert.ok(!/Signature=|X-Amz-Signature/i.test(everything));
  });

  it('[ambiguous] a conditional put whose reply is lost is recognised as our own write on retry', async () => {
    const s = storeVia();
    proxy.script('reset-response');
    const data = randomBytes(5000);
    const { etag } = await s.put('ambiguous/new', data, { ifNoneMatch: '*', metadata: { mode: '33188' } });
    assert.equal(etag, md5Hex(data));
    assert.equal(proxy.log[0]!.fault, 'reset-response');
    assert.ok(proxy.counts.requests >= 3); // PUT (applied, reply cut), PUT (412), HEAD
    // A genuine conflict is still a conflict.
    await assert.rejects(s.put('ambiguous/new', randomBytes(10), { ifNoneMatch: '*' }), PreconditionFailedError);
  });

  it('[ambiguous] a lost CompleteMultipartUpload reply still yields the object and its ETag', async () => {
    const s = storeVia();
    const { uploadId } = await s.createMultipartUpload('ambiguous/mp');
    const part = randomBytes(1000);
    const p1 = await s.uploadPart('ambiguous/mp', uploadId, 1, part);
    proxy.script('reset-response');
    const done = await s.completeMultipartUpload('ambiguous/mp', uploadId, [{ partNumber: 1, etag: p1.etag }]);
    assert.match(done.etag, /^[0-9a-f]{32}-1$/);
    assert.equal((await s.head('ambiguous/mp')).etag, done.etag);
    assert.ok((await s.getBuffer('ambiguous/mp')).data.equals(part));
  });

  it('[retry] a GET cut off mid-body is retried by getBuffer with the right bytes', async () => {
    const s = storeVia();
    const data = randomBytes(200000);
    await s.put('cut/get', data);
    proxy.script('reset-response');
    assert.ok((await s.getBuffer('cut/get')).data.equals(data));
    assert.deepEqual(proxy.log.filter((r) => r.method === 'GET').map((r) => r.fault), ['reset-response', undefined]);
  });

  it('[resume] a streamed GET cut off mid-body continues with a ranged GET pinned to the ETag', async () => {
    const s = storeVia();
    const data = randomBytes(300000);
    const { etag } = await s.put('cut/stream', data);
    proxy.resetCounts();
    proxy.script('reset-response');
    const res = await s.get('cut/stream', { range: { start: 1000, end: 250999 } });
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    assert.ok(Buffer.concat(chunks).equals(data.subarray(1000, 251000)));
    const gets = proxy.log.filter((r) => r.method === 'GET');
    assert.equal(gets.length, 2);
    assert.equal(gets[0]!.fault, 'reset-response');
    assert.match(gets[1]!.range ?? '', /^bytes=\d+-250999$/);
    assert.notEqual(gets[1]!.range, 'bytes=1000-250999');
    assert.equal(gets[1]!.ifMatch?.replace(/"/g, ''), etag);
  });

  it('[resume] a streamed GET of an object replaced mid-read fails with PreconditionFailedError', async () => {
    const s = storeVia();
    await s.put('cut/changing', randomBytes(300000));
    proxy.script('reset-response');
    const res = await s.get('cut/changing');
    await s.put('cut/changing', randomBytes(300000)); // replaced while the first read is cut off
    await assert.rejects(async () => {
      for await (const c of res.body) void c;
    }, PreconditionFailedError);
  });

  it('a streamed GET destroyed unread gives its concurrency slot back', async () => {
    const s = storeVia({ maxConcurrency: 1 });
    await s.put('slot/obj', randomBytes(200000));
    for (let i = 0; i < 3; i++) (await s.get('slot/obj')).body.destroy();
    const partly = await s.get('slot/obj');
    await new Promise((resolve) => partly.body.once('data', resolve));
    partly.body.destroy();
    assert.equal((await s.head('slot/obj')).size, 200000); // would hang with a leaked slot
  });

  it('[error] a missing bucket is NoSuchBucketError for list and get', async () => {
    const s = storeVia({ bucket: 'no-such-bucket-s3files' });
    await assert.rejects(s.list({ prefix: '' }), NoSuchBucketError);
    await assert.rejects(s.getBuffer('k'), NoSuchBucketError);
    await assert.rejects(s.head('k'), NotFoundError); // HEAD has no body to tell the two apart
  });

  it('[timeout] a reply slower than requestTimeoutMs is abandoned and retried', async () => {
    const slow = await startFaultProxy({ target: gw.endpoint, delayMs: 1500 });
    try {
      const s = new S3Store({
        bucket, endpoint: slow.endpoint, region: gw.region, forcePathStyle: true,
        credentials: { accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey },
        requestTimeoutMs: 300, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
      });
      stores.push(s);
      slow.script('delay');
      const t0 = Date.now();
      await s.put('timeout/obj', Buffer.from('late'));
      assert.ok(Date.now() - t0 < 1400, 'did not wait for the slow reply');
      assert.equal(slow.counts.requests, 2);
    } finally {
      await slow.close();
    }
  });

  it('[timeout] a GET that stalls is cut off after readTimeoutMs and retried; GETs beside it are not held up', async () => {
    const s0 = storeVia();
    for (let i = 0; i < 6; i++) await s0.put(`stall/${i}`, Buffer.from(`body ${i}`));
    const slow = await startFaultProxy({ target: gw.endpoint, delayMs: 4000 });
    try {
      const s = new S3Store({
        bucket, endpoint: slow.endpoint, region: gw.region, forcePathStyle: true,
        credentials: { accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey },
        readTimeoutMs: 400, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 }, capabilities: RGW_CAPABILITIES,
      });
      stores.push(s);
      slow.script('delay');
      const t0 = Date.now();
      const stalled = s.getBuffer('stall/0').then((r) => ({ body: r.data.toString(), ms: Date.now() - t0 }));
      await new Promise((r) => setTimeout(r, 20)); // the stalled one is first on the wire
      const others = await Promise.all([1, 2, 3, 4, 5].map(async (i) => (await s.getBuffer(`stall/${i}`)).data.toString()));
      const othersMs = Date.now() - t0;
      assert.deepEqual(others, [1, 2, 3, 4, 5].map((i) => `body ${i}`));
      assert.ok(othersMs < 1500, `the other GETs took ${othersMs} ms`);
      const r = await stalled;
      assert.equal(r.body, 'body 0');
      assert.ok(r.ms < 3000, `the stalled GET was not cut off (${r.ms} ms)`);
      assert.equal(slow.counts.requests, 7, 'one retry');
    } finally {
      await slow.close();
    }
  });

  it('[throttle] 503 SlowDown halves the concurrency limit, successes grow it back', async () => {
    const s = storeVia({ maxConcurrency: 16 });
    assert.equal(s.concurrency.limit, 16);
    proxy.script('slowdown');
    await s.put('throttle/a', Buffer.from('a'));
    assert.equal(s.concurrency.limit, 8);
    assert.equal(s.concurrency.cuts, 1);
    assert.equal(sleeps.length, 1, 'the throttled request was retried after a backoff');
    await Promise.all(Array.from({ length: 100 }, (_, i) => s.put(`throttle/${i}`, Buffer.from('x'))));
    assert.equal(s.concurrency.limit, 16, 'grown back to the maximum (8 + 9 + … + 15 = 92 successes)');
  });

  it('keeps at most maxConcurrency requests in flight', async () => {
    const s = storeVia({ maxConcurrency: 3 });
    await Promise.all(Array.from({ length: 24 }, (_, i) => s.put(`limit/${i}`, randomBytes(20000))));
    assert.ok(proxy.maxInFlight <= 3, `max in flight ${proxy.maxInFlight}`);
    assert.ok(proxy.maxInFlight >= 2);
  });

  it('detects RGW capabilities once (cached), and configuration overrides them', async () => {
    const s = storeVia({ capabilities: undefined });
    assert.deepEqual(await s.detectCapabilities(), RGW_CAPABILITIES);
    const after1 = proxy.counts.requests;
    assert.ok(after1 > 5);
    await s.detectCapabilities();
    assert.equal(proxy.counts.requests, after1);
    const forced = storeVia({ capabilities: { uploadPartCopy: false } });
    assert.equal((await forced.detectCapabilities()).uploadPartCopy, false);
    assert.equal((await s.list({ prefix: '.s3files-probe/' })).objects.length, 0, 'probe objects removed');
  });

  it('with 20% of requests failing, a batch of puts and gets all succeed with the right bytes', async () => {
    proxy.rate = 0.2;
    const s = storeVia({ retry: { maxAttempts: 12, baseDelayMs: 5, maxDelayMs: 100 }, maxConcurrency: 8 }, true);
    const rnd = seededRandom(42);
    const items = Array.from({ length: 48 }, (_, i) => ({ key: `batch/${i}`, data: randomBytes(1 + Math.floor(rnd() * (i % 8 === 0 ? 1_000_000 : 60_000))) }));
    await Promise.all(items.map(({ key, data }, i) =>
      i % 3 === 0 ? s.put(key, { length: data.length, open: () => Readable.from([data]) }) : s.put(key, data, { ifNoneMatch: '*' }),
    ));
    const got = await Promise.all(items.map(({ key }) => s.getBuffer(key)));
    got.forEach((g, i) => assert.ok(g.data.equals(items[i]!.data), `bytes of ${items[i]!.key}`));
    const listed = [];
    let token: string | undefined;
    do {
      const page = await s.list({ prefix: 'batch/', maxKeys: 10, continuationToken: token });
      listed.push(...page.objects);
      token = page.nextContinuationToken;
    } while (token);
    assert.equal(listed.length, items.length);
    assert.deepEqual(await s.deleteMany(items.map((i) => i.key)), []);
    assert.ok(proxy.faultsInjected >= 10, `faults injected: ${JSON.stringify(proxy.counts)}`);
  });
});
