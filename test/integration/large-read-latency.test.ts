// A cold sequential read of a large object on an S3 link shaped like the real one (20 ms first
// byte, 25 MB/s per connection: test/support/shaped-link.ts) through the cache file system: it
// must be served by several ranged GETs in flight, not by one connection's stream, and come back
// byte for byte. The parallelism is asserted from the link's own in-flight counter; its speed is
// bench/'s business (on a loaded machine, RGW's CPU and not the link is what limits it).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rgwStore, skipS3, useSharedRgw, type CephRgw } from '../support/ceph-rgw';
import { linkedExport, resolve, ROOT, type TestExport } from '../support/linked-fs';
import { startShapedLink, type ShapedLink } from '../support/shaped-link';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

(skipS3() ? describe.skip : describe)('large cold reads on a link with S3 latency (Ceph RGW)', function () {
  this.timeout(180_000);
  const rgw = useSharedRgw();
  let gw: CephRgw;
  let link: ShapedLink;
  const bucket = `bigread-${Date.now().toString(36)}`;
  const cleanup: Array<() => Promise<void> | void> = [];

  before(async () => {
    gw = await rgw();
    await gw.createBucket(bucket);
    link = await startShapedLink({ target: gw.endpoint, latencyMs: 20, connBytesPerSec: 25e6 });
    cleanup.push(() => link.close());
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  const store = (endpoint: string) => {
    const s = rgwStore(gw, bucket, {
      endpoint,
      capabilities: { uploadPartCopy: true, conditionalWrites: true, conditionalMultipartComplete: false, copySourceIfMatch: false },
    });
    cleanup.push(() => s.destroy());
    return s;
  };

  async function openExport(): Promise<TestExport> {
    const t = await linkedExport(store(link.endpoint), 'big/');
    cleanup.push(() => t.cleanup());
    return t;
  }

  /** Reads the whole file as the kernel client does: 1 MiB READs, four in flight. */
  async function readAll(t: TestExport, ino: number, size: number): Promise<Buffer> {
    const out = Buffer.alloc(size);
    let next = 0;
    const reader = async () => {
      while (next < size) {
        const off = next;
        next += MiB;
        const r = await t.fs.read(ROOT, ino, off, MiB);
        r.data.copy(out, off);
        r.release?.();
      }
    };
    await Promise.all([reader(), reader(), reader(), reader()]);
    return out;
  }

  it('is served by several ranged GETs in flight, byte for byte, off the cache disk', async () => {
    const size = 96 * MiB;
    const data = randomBytes(size);
    await store(gw.endpoint).put('big/movie.bin', data);
    const t = await openExport();
    const ino = await resolve(t.fs, 'movie.bin');
    link.reset();
    const got = await readAll(t, ino, size);
    const inFlight = link.inFlight();
    const counts = link.counts();
    assert.equal(md5(got), md5(data));
    const c = t.fs.sync!.counters();
    assert.ok(c.streamedBytes >= size * 0.9, `streamed ${c.streamedBytes} of ${size} bytes`);
    assert.ok(inFlight.peak >= 6, `at most ${inFlight.peak} requests were in flight on the link`);
    assert.ok(counts.rangedGets >= 12, `${counts.rangedGets} ranged GETs`);
    assert.ok(counts.getBytes <= size * 1.05, `${counts.getBytes} bytes fetched for ${size}`);
    // One connection needs size / cap seconds; parts in parallel must beat that clearly.
    assert.ok((await t.fs.getattr(ino)).used < 8 * MiB, 'the streamed bytes stayed off the cache disk');
  });
});
