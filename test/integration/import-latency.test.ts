// Bulk import on an S3 link shaped like the real one (test/support/shaped-link.ts: added
// first-byte latency per request, a bandwidth cap per connection) in front of a real Ceph RGW.
// A cold read of many small files keeps tens of requests in flight and sends one GET per file
// and no HEAD (the GET brings the metadata); an `ls -l` of a directory whose files are not
// imported HEADs them tens at a time, and READDIRPLUS shows the objects' own owners and modes.
// Counts by kind and in-flight figures come from the link's meter; time bounds are in units of
// the added latency (the serial cost of the requests), never absolute: RGW on this shared,
// 2-core machine serves only a few hundred requests a second.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { S3Store } from '../../pkg/s3/s3-store';
import type { Credentials } from '../../pkg/vfs';
import { rgwStore, skipS3, useSharedRgw, type CephRgw } from '../support/ceph-rgw';
import { countsBetween } from '../support/link-meter';
import { ROOT, linkedExport, resolve, type TestExport } from '../support/linked-fs';
import { fetchKeys, floorClient, listAndHead, mapLimit } from '../support/sdk-floor';
import { startShapedLink, type ShapedLink } from '../support/shaped-link';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const KiB = 1024;
const LATENCY_MS = 20;
const DIRS = 4;
const PER_DIR = 100;
const FILES = DIRS * PER_DIR;

(skipS3() ? describe.skip : describe)('bulk import over a shaped S3 link (20 ms first byte, 25 MB/s per connection; Ceph RGW)', function () {
  this.timeout(300_000);
  const rgw = useSharedRgw();
  let gw: CephRgw;
  let link: ShapedLink;
  let store: S3Store;
  let t: TestExport | undefined;
  const bucket = `import-lat-${Date.now().toString(36)}`;
  const bodies = new Map<string, Buffer>();

  before(async () => {
    gw = await rgw();
    await gw.createBucket(bucket);
    const direct = floorClient({ endpoint: gw.endpoint, region: gw.region, accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey });
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    const keys: string[] = [];
    for (let d = 0; d < DIRS; d++) for (let i = 0; i < PER_DIR; i++) keys.push(`d${d}/f${String(i).padStart(3, '0')}`);
    await mapLimit(keys, 32, async (key, i) => {
      const body = randomBytes(64 * KiB);
      bodies.set(key, body);
      const meta = { mode: String(0o100640), uid: String(1000 + (i % 7)), gid: String(2000 + (i % 5)), mtime: String(1_600_000_000 + i) };
      for (const prefix of ['small/', 'attrs/']) await direct.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${key}`, Body: body, Metadata: meta }));
    });
    direct.destroy();
    link = await startShapedLink({ target: gw.endpoint, latencyMs: LATENCY_MS });
    store = rgwStore(gw, bucket, { endpoint: link.endpoint, maxConcurrency: 64 });
    await store.detectCapabilities();
  });
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });
  /** The SDK floor measured now, on the same link: `fn` with a plain client. */
  async function floorMs(fn: (c: ReturnType<typeof floorClient>) => Promise<{ ms: number }>): Promise<number> {
    const c = floorClient({ endpoint: link.endpoint, region: gw.region, accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey });
    try {
      return (await fn(c)).ms;
    } finally {
      c.destroy();
    }
  }

  after(async () => {
    store?.destroy();
    await link?.close();
  });

  it('a cold read of many small files: one GET each, no HEAD, tens in flight', async () => {
    t = await linkedExport(store, 'small/', { prefetchBytes: 128 * KiB });
    const f = t.fs;
    const t0 = performance.now();
    // As `cat d*/*`: the shell lists the directories, then each file is opened and read in turn.
    const dirs: number[] = [];
    for (let d = 0; d < DIRS; d++) dirs.push(await resolve(f, `d${d}`));
    for (const dir of dirs) await f.readdir(ROOT, dir, { cookie: 0n, verifier: Buffer.alloc(8), maxEntries: 1000, withAttributes: false });
    let checked = 0;
    for (let d = 0; d < DIRS; d++) {
      for (let i = 0; i < PER_DIR; i++) {
        const name = `f${String(i).padStart(3, '0')}`;
        const { ino, attributes } = await f.lookup(ROOT, dirs[d]!, name);
        assert.equal(attributes.uid, 1000 + ((d * PER_DIR + i) % 7), `uid of d${d}/${name}`);
        const r = await f.read(ROOT, ino, 0, 128 * KiB);
        assert.ok(r.data.equals(bodies.get(`d${d}/${name}`)!), `bytes of d${d}/${name}`);
        r.release?.();
        checked++;
      }
    }
    const ms = performance.now() - t0;
    const c = countsBetween(link.meter, t0, performance.now());
    const floor = await floorMs((cl) => fetchKeys(cl, bucket, Array.from(bodies.keys(), (k) => `small/${k}`), 32));
    const summary = `${ms.toFixed(0)} ms (SDK GETs 32 at a time: ${floor.toFixed(0)} ms); LIST ${c.requests.list}, HEAD ${c.requests.head}, GET ${c.requests.get}; peak in flight ${c.peak}, mean while busy ${c.meanWhileBusy.toFixed(1)}`;
    console.log(`      cold read of ${FILES} × 64 KiB: ${summary}`);
    assert.equal(checked, FILES);
    assert.equal(c.requests.get, FILES, `one GET per file: ${summary}`);
    assert.ok(c.requests.head <= DIRS, `no HEAD for the files (the directories' markers at most): ${summary}`);
    assert.equal(c.requests.list, DIRS + 1, summary);
    assert.ok(c.peak >= 16, `tens of requests in flight: ${summary}`);
    // Near the SDK's own floor in the same run (one request at a time would be 10-30× it). The
    // bound is loose because this machine is shared: RGW's speed varies between the two runs.
    assert.ok(ms < 4 * floor + 10 * LATENCY_MS, `near the SDK floor: ${summary}`);
  });

  it('ls -l without data import: HEADs tens at a time, READDIRPLUS shows the objects\' owners and modes', async () => {
    t = await linkedExport(store, 'attrs/', { prefetchBytes: 0 });
    const f = t.fs;
    const t0 = performance.now();
    for (let d = 0; d < DIRS; d++) {
      const dir = await resolve(f, `d${d}`);
      const seen: Array<{ name: string; uid?: number; mode?: number }> = [];
      let cookie = 0n;
      let verifier: Buffer = Buffer.alloc(8);
      for (;;) {
        const page = await f.readdir(ROOT, dir, { cookie, verifier, maxEntries: 50, withAttributes: true });
        for (const e of page.entries) if (e.name !== '.' && e.name !== '..') seen.push({ name: e.name, uid: e.attributes?.uid, mode: e.attributes?.mode });
        if (page.eof) break;
        cookie = page.entries[page.entries.length - 1]!.cookie;
        verifier = page.verifier;
      }
      assert.equal(seen.length, PER_DIR);
      for (const e of seen) {
        const i = d * PER_DIR + Number(e.name.slice(1));
        assert.deepEqual([e.uid, e.mode], [1000 + (i % 7), 0o640], `attributes of d${d}/${e.name} in READDIRPLUS`);
      }
    }
    const ms = performance.now() - t0;
    const c = countsBetween(link.meter, t0, performance.now());
    const floor = await floorMs((cl) => listAndHead(cl, bucket, 'attrs/', 32));
    const summary = `${ms.toFixed(0)} ms (SDK LIST + HEADs 32 at a time: ${floor.toFixed(0)} ms); LIST ${c.requests.list}, HEAD ${c.requests.head}, GET ${c.requests.get}; peak in flight ${c.peak}, mean while busy ${c.meanWhileBusy.toFixed(1)}`;
    console.log(`      ls -l of ${FILES} objects in ${DIRS} directories: ${summary}`);
    assert.equal(c.requests.get, 0, summary);
    assert.ok(c.requests.head >= FILES && c.requests.head <= FILES + DIRS, summary);
    assert.ok(c.peak >= 16, `tens of HEADs in flight: ${summary}`);
    assert.ok(ms < 4 * floor + 10 * LATENCY_MS, `near the SDK floor: ${summary}`);
  });

  it("import rule with the 'file' trigger: nothing on listing; a LOOKUP brings the file whole (one GET, no HEAD)", async () => {
    t = await linkedExport(store, 'small/', { importRules: [{ prefix: '', sizeLessThan: 0, trigger: 'directory' }, { prefix: 'd2/', sizeLessThan: 128 * KiB, trigger: 'file' }] });
    const f = t.fs;
    const tList = performance.now();
    const dir = await resolve(f, 'd2');
    await f.readdir(ROOT, dir, { cookie: 0n, verifier: Buffer.alloc(8), maxEntries: 1000, withAttributes: false });
    await f.sync!.importsIdle();
    // The root's listing and d2's, the HEADs of the directories' markers; nothing for the files.
    const listed = countsBetween(link.meter, tList, performance.now());
    assert.ok(listed.requests.list === 2 && listed.requests.head <= DIRS && listed.requests.get === 0, `listing: ${JSON.stringify(listed.requests)}`);
    const t0 = performance.now();
    for (const i of [3, 4, 5]) {
      const { ino, attributes } = await f.lookup(ROOT, dir, `f00${i}`);
      assert.equal(attributes.uid, 1000 + ((2 * PER_DIR + i) % 7));
      assert.ok((await f.read(ROOT, ino, 0, 64 * KiB)).data.equals(bodies.get(`d2/f00${i}`)!));
    }
    const c = countsBetween(link.meter, t0, performance.now());
    assert.deepEqual([c.requests.get, c.requests.head, c.requests.list], [3, 0, 0], JSON.stringify(c.requests));
  });

  it('a read of a file whose import is in flight waits for that GET instead of sending its own', async () => {
    t = await linkedExport(store, 'small/', { prefetchBytes: 128 * KiB });
    const f = t.fs;
    const user: Credentials = ROOT;
    // The root's listing and the HEADs of its directories' markers first: a LOOKUP of d1 that
    // waited for its marker would send d1's first LIST alongside, before the window below.
    await f.readdir(user, f.rootIno, { cookie: 0n, verifier: Buffer.alloc(8), maxEntries: 1000, withAttributes: false });
    await f.sync!.importsIdle();
    const t0 = performance.now();
    const dir = await resolve(f, 'd1');
    await f.readdir(user, dir, { cookie: 0n, verifier: Buffer.alloc(8), maxEntries: 1000, withAttributes: false });
    // Right after the listing, the imports are in flight: read them all at once.
    const inos = await Promise.all(Array.from({ length: PER_DIR }, async (_, i) => (await f.lookup(user, dir, `f${String(i).padStart(3, '0')}`)).ino));
    const reads = await Promise.all(inos.map((ino) => f.read(user, ino, 0, 64 * KiB)));
    for (const [i, r] of reads.entries()) assert.ok(r.data.equals(bodies.get(`d1/f${String(i).padStart(3, '0')}`)!));
    const c = countsBetween(link.meter, t0, performance.now());
    assert.equal(c.requests.get, PER_DIR, `GETs: ${c.requests.get}`);
    assert.equal(c.requests.head, 0, `HEADs: ${c.requests.head}`);
  });
});
