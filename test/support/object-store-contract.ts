// The ObjectStore contract: one suite that every implementation must pass (FolderStore, and
// S3Store against a real S3 server). Call `objectStoreContract(name, setup)` inside a spec file;
// `setup` returns a store over an empty bucket/folder and a cleanup.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { InvalidArgumentError, InvalidRangeError, NotFoundError, PreconditionFailedError } from '../../pkg/s3/errors';
import { md5Hex, multipartEtag } from '../../pkg/s3/etag';
import { listAll, MIN_PART_SIZE, ObjectStore } from '../../pkg/s3/object-store';

export interface ContractSetup {
  store: ObjectStore;
  cleanup(): Promise<void>;
}

const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function rejects(p: Promise<unknown>, cls: new (...a: never[]) => Error): Promise<void> {
  await assert.rejects(p, (err: Error) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${err.name}: ${err.message}`);
    return true;
  });
}

async function inBatches<T>(items: T[], size: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

async function drain(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export function objectStoreContract(name: string, setup: () => Promise<ContractSetup>): void {
  describe(`ObjectStore contract: ${name}`, function () {
    this.timeout(120000);
    let ctx: ContractSetup;
    let s: ObjectStore;
    before(async function () {
      ctx = await setup();
      s = ctx.store;
    });
    after(async () => ctx && ctx.cleanup());

    it('put/get/head round trip keeps bytes, ETag and metadata exactly', async () => {
      const data = randomBytes(70000);
      const meta = { mode: '33188', uid: '1000', gid: '1000', mtime: '1700000000', 'X-Amz-Meta-Atime': '5' };
      const { etag } = await s.put('rt/file.bin', data, { metadata: meta, contentType: 'application/x-test' });
      assert.equal(etag, md5Hex(data));
      const head = await s.head('rt/file.bin');
      assert.equal(head.size, data.length);
      assert.equal(head.etag, etag);
      assert.deepEqual(head.metadata, { mode: '33188', uid: '1000', gid: '1000', mtime: '1700000000', atime: '5' });
      assert.equal(head.contentType, 'application/x-test');
      assert.ok(Math.abs(head.lastModified.getTime() - Date.now()) < 120000);
      const got = await s.getBuffer('rt/file.bin');
      assert.ok(got.data.equals(data));
      assert.equal(got.info.etag, etag);
      assert.deepEqual(got.info.metadata, head.metadata);
      const streamed = await s.get('rt/file.bin');
      assert.ok((await drain(streamed.body)).equals(data));
    });

    it('empty objects and stream bodies (re-openable, known length)', async () => {
      assert.equal((await s.put('rt/empty', Buffer.alloc(0))).etag, md5Hex(Buffer.alloc(0)));
      assert.equal((await s.getBuffer('rt/empty')).data.length, 0);
      assert.equal((await drain((await s.get('rt/empty')).body)).length, 0);
      const data = randomBytes(300000);
      const body = { length: data.length, open: () => Readable.from([data.subarray(0, 1000), data.subarray(1000)]) };
      assert.equal((await s.put('rt/streamed', body)).etag, md5Hex(data));
      assert.ok((await s.getBuffer('rt/streamed')).data.equals(data));
    });

    it('ranged get returns the range, clamps the end, refuses a start past the end', async () => {
      const data = randomBytes(10000);
      await s.put('range/obj', data);
      const mid = await s.getBuffer('range/obj', { range: { start: 100, end: 4099 } });
      assert.ok(mid.data.equals(data.subarray(100, 4100)));
      assert.deepEqual(mid.range, { start: 100, end: 4099 });
      assert.equal(mid.info.size, 10000);
      const tail = await s.get('range/obj', { range: { start: 9990, end: 20000 } });
      assert.ok((await drain(tail.body)).equals(data.subarray(9990)));
      assert.deepEqual(tail.range, { start: 9990, end: 9999 });
      await rejects(s.getBuffer('range/obj', { range: { start: 10000, end: 10005 } }), InvalidRangeError);
    });

    it('get with If-Match: current ETag reads, stale ETag is a failed precondition', async () => {
      const { etag } = await s.put('cond/read', Buffer.from('v1'));
      assert.equal((await s.getBuffer('cond/read', { ifMatch: etag })).data.toString(), 'v1');
      await rejects(s.getBuffer('cond/read', { ifMatch: md5Hex(Buffer.from('other')) }), PreconditionFailedError);
    });

    it('NotFound for missing keys; delete of a missing key succeeds', async () => {
      await rejects(s.head('missing/key'), NotFoundError);
      await rejects(s.getBuffer('missing/key'), NotFoundError);
      await rejects(s.get('missing/key'), NotFoundError);
      await rejects(s.copy('missing/key', 'missing/dst'), NotFoundError);
      await s.delete('missing/key');
    });

    it('conditional put: If-None-Match * and If-Match (stale, current, missing)', async () => {
      const v1 = await s.put('cond/obj', Buffer.from('one'), { ifNoneMatch: '*' });
      await rejects(s.put('cond/obj', Buffer.from('two'), { ifNoneMatch: '*' }), PreconditionFailedError);
      await rejects(s.put('cond/obj', Buffer.from('two'), { ifMatch: md5Hex(Buffer.from('stale')) }), PreconditionFailedError);
      const v2 = await s.put('cond/obj', Buffer.from('two'), { ifMatch: v1.etag });
      assert.equal((await s.getBuffer('cond/obj')).data.toString(), 'two');
      await rejects(s.put('cond/obj', Buffer.from('three'), { ifMatch: v1.etag }), PreconditionFailedError);
      assert.equal((await s.head('cond/obj')).etag, v2.etag);
      await rejects(s.put('cond/never', Buffer.from('x'), { ifMatch: v1.etag }), PreconditionFailedError);
    });

    it('concurrent If-None-Match * puts of one key: exactly one wins', async () => {
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => s.put('cond/race', Buffer.from(`writer ${i}`), { ifNoneMatch: '*' })));
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof PreconditionFailedError, String(r.reason));
      assert.equal((await s.head('cond/race')).etag, (won[0] as PromiseFulfilledResult<{ etag: string }>).value.etag);
    });

    it('lists with a delimiter other than "/" and a prefix that ends mid-segment', async () => {
      await inBatches(['dl/a-1-x', 'dl/a-1-y', 'dl/a-2', 'dl/b', 'dl/ab/c'], 5, (k) => s.put(k, Buffer.from(k)));
      const r = await s.list({ prefix: 'dl/a', delimiter: '-' });
      assert.deepEqual(r.commonPrefixes, ['dl/a-']);
      assert.deepEqual(r.objects.map((o) => o.key), ['dl/ab/c']);
      const r2 = await s.list({ prefix: 'dl/a-', delimiter: '-' });
      assert.deepEqual(r2.commonPrefixes, ['dl/a-1-']);
      assert.deepEqual(r2.objects.map((o) => o.key), ['dl/a-2']);
      const after = await s.list({ prefix: 'dl/', startAfter: 'dl/a-2' });
      assert.deepEqual(after.objects.map((o) => o.key), ['dl/ab/c', 'dl/b']);
    });

    it('copy keeps or replaces metadata and honours source If-Match', async () => {
      const src = await s.put('copy/src', Buffer.from('source bytes'), { metadata: { mode: '33188', uid: '7' } });
      const kept = await s.copy('copy/src', 'copy/kept');
      assert.equal(kept.etag, src.etag);
      assert.deepEqual((await s.head('copy/kept')).metadata, { mode: '33188', uid: '7' });
      await s.copy('copy/src', 'copy/replaced', { metadata: { mode: '33261' }, ifMatch: src.etag });
      const h = await s.head('copy/replaced');
      assert.deepEqual(h.metadata, { mode: '33261' });
      assert.equal((await s.getBuffer('copy/replaced')).data.toString(), 'source bytes');
      await s.copy('copy/src', 'copy/src', { metadata: { mode: '1' } }); // in-place metadata update (chmod)
      assert.deepEqual((await s.head('copy/src')).metadata, { mode: '1' });
      await rejects(s.copy('copy/src', 'copy/stale', { ifMatch: md5Hex(Buffer.from('stale')) }), PreconditionFailedError);
      await rejects(s.head('copy/stale'), NotFoundError);
    });

    it('multipart with UploadPartCopy re-using ranges of the previous object', async () => {
      const old = randomBytes(MIN_PART_SIZE * 2 + 1000);
      const prev = await s.put('mp/file', old, { metadata: { mode: '33188' } });
      const fresh = randomBytes(MIN_PART_SIZE);
      const { uploadId } = await s.createMultipartUpload('mp/file', { metadata: { mode: '33188', mtime: '42' } });
      const stale = md5Hex(Buffer.from('an older version'));
      await rejects(s.uploadPartCopy('mp/file', uploadId, 1, 'mp/file', { range: { start: 0, end: 9 }, sourceIfMatch: stale }), PreconditionFailedError);
      const p1 = await s.uploadPartCopy('mp/file', uploadId, 1, 'mp/file', { range: { start: 0, end: MIN_PART_SIZE - 1 }, sourceIfMatch: prev.etag });
      const p2 = await s.uploadPart('mp/file', uploadId, 2, fresh);
      const p3 = await s.uploadPartCopy('mp/file', uploadId, 3, 'mp/file', { range: { start: MIN_PART_SIZE * 2, end: old.length - 1 } });
      assert.equal(p1.etag, md5Hex(old.subarray(0, MIN_PART_SIZE)));
      assert.equal(p2.etag, md5Hex(fresh));
      const parts = [{ partNumber: 1, etag: p1.etag }, { partNumber: 2, etag: p2.etag }, { partNumber: 3, etag: p3.etag }];
      const done = await s.completeMultipartUpload('mp/file', uploadId, parts);
      assert.equal(done.etag, multipartEtag([p1.etag, p2.etag, p3.etag]));
      const want = Buffer.concat([old.subarray(0, MIN_PART_SIZE), fresh, old.subarray(MIN_PART_SIZE * 2)]);
      const got = await s.getBuffer('mp/file');
      assert.ok(got.data.equals(want));
      assert.equal(got.info.etag, done.etag);
      assert.deepEqual(got.info.metadata, { mode: '33188', mtime: '42' });
    });

    it('multipart refuses small middle parts; abort is idempotent; unknown uploads are NotFound', async () => {
      const { uploadId } = await s.createMultipartUpload('mp/small');
      const a = await s.uploadPart('mp/small', uploadId, 1, Buffer.alloc(1000, 1));
      const b = await s.uploadPart('mp/small', uploadId, 2, Buffer.alloc(1000, 2));
      await rejects(s.completeMultipartUpload('mp/small', uploadId, [{ partNumber: 1, etag: a.etag }, { partNumber: 2, etag: b.etag }]), InvalidArgumentError);
      await s.abortMultipartUpload('mp/small', uploadId);
      await s.abortMultipartUpload('mp/small', uploadId);
      await rejects(s.uploadPart('mp/small', uploadId, 1, Buffer.from('x')), NotFoundError);
      await rejects(s.head('mp/small'), NotFoundError);
    });

    it('keys with spaces, unicode, dir markers, dots and double slashes coexist and list in byte order', async () => {
      const keys = ['k/a', 'k/a/', 'k/a/b', 'k/a b+c%20.txt', 'k/ünïcödé/日本語 ファイル', 'k/x//y', 'k/./dot', 'k/../up', 'k/~tilde', 'k/a-b', 'k/😀'];
      await inBatches(keys, 8, (k) => s.put(k, Buffer.from(`body of ${k}`)));
      for (const k of keys) assert.equal((await s.getBuffer(k)).data.toString(), `body of ${k}`, k);
      assert.equal((await s.head('k/a/')).size, Buffer.byteLength('body of k/a/'));
      const listed: string[] = [];
      for await (const page of listAll(s, { prefix: 'k/', maxKeys: 3 })) listed.push(...page.objects.map((o) => o.key));
      assert.deepEqual(listed, [...keys].sort(byUtf8));
      const top = await s.list({ prefix: 'k/', delimiter: '/' });
      assert.deepEqual(top.commonPrefixes, ['k/./', 'k/../', 'k/a/', 'k/x/', 'k/ünïcödé/'].sort(byUtf8));
      assert.deepEqual(top.objects.map((o) => o.key), ['k/a', 'k/a b+c%20.txt', 'k/a-b', 'k/~tilde', 'k/😀'].sort(byUtf8));
      await s.delete('k/a');
      assert.equal((await s.getBuffer('k/a/')).data.toString(), 'body of k/a/');
      await rejects(s.head('k/a'), NotFoundError);
    });

    it('refuses metadata S3 cannot carry (non-ASCII values) with InvalidArgumentError', async () => {
      await rejects(s.put('meta/bad', Buffer.from('x'), { metadata: { name: 'é' } }), InvalidArgumentError);
      await rejects(s.put('', Buffer.from('x')), InvalidArgumentError);
    });

    it('lists ~2,500 keys with delimiter and small pages: none lost, none duplicated; deleteMany removes them', async () => {
      const keys: string[] = [];
      for (let d = 0; d < 10; d++) for (let f = 0; f < 200; f++) keys.push(`big/d${d}/f${String(f).padStart(3, '0')}`);
      for (let t = 0; t < 500; t++) keys.push(`big/top-${t}`);
      await inBatches(keys, 32, (k) => s.put(k, Buffer.from(k)));
      const flat: string[] = [];
      let pages = 0;
      for await (const page of listAll(s, { prefix: 'big/', maxKeys: 97 })) {
        pages++;
        assert.ok(page.objects.length <= 97);
        flat.push(...page.objects.map((o) => o.key));
      }
      assert.equal(flat.length, keys.length);
      assert.equal(new Set(flat).size, keys.length);
      assert.deepEqual(flat, [...keys].sort(byUtf8));
      assert.ok(pages >= 26);
      const prefixes: string[] = [];
      const objects: string[] = [];
      for await (const page of listAll(s, { prefix: 'big/', delimiter: '/', maxKeys: 7 })) {
        assert.ok(page.objects.length + page.commonPrefixes.length <= 7);
        prefixes.push(...page.commonPrefixes);
        objects.push(...page.objects.map((o) => o.key));
      }
      assert.deepEqual(prefixes, Array.from({ length: 10 }, (_, d) => `big/d${d}/`));
      assert.equal(objects.length, 500);
      assert.equal(new Set(objects).size, 500);
      const inDir = await s.list({ prefix: 'big/d3/', delimiter: '/', maxKeys: 1000 });
      assert.equal(inDir.objects.length, 200);
      assert.equal(inDir.objects[0]!.size, 'big/d3/f000'.length);
      assert.equal(inDir.objects[0]!.etag, md5Hex(Buffer.from('big/d3/f000')));
      const errors = await s.deleteMany([...keys, 'big/never-existed']);
      assert.deepEqual(errors, []);
      assert.equal((await s.list({ prefix: 'big/' })).objects.length, 0);
    });
  });
}
