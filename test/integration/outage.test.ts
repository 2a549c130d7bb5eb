// An S3 outage (the fault proxy refusing connections, or taking requests and never answering)
// on a real Ceph RGW: a node rides it out with what it knows. A directory made and uploaded
// here is fully known, so every call in it answers at once; a listed directory past its TTL
// answers from its cached listing; a directory never listed answers EJUKEBOX ("try again
// later") within the wait bound, never ENOENT and never after the client's timeout. Once S3 is
// back, what was done during the outage reaches the bucket.
import assert from 'node:assert/strict';
import { S3Store } from '../../pkg/s3/s3-store';
import type { FsError } from '../../pkg/vfs';
import { rgwStore, skipS3, useSharedRgw, type CephRgw } from '../support/ceph-rgw';
import { startFaultProxy, type FaultProxy, type ProxyMode } from '../support/fault-proxy';
import { ROOT, bucketKeys, linkedExport, listNames, mkdirs, readFile, resolve, writeFile, type TestExport } from '../support/linked-fs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The wait bound of the export under test (the product's default is 10 s). */
const WAIT_MS = 1500;
/** Slack for a loaded 2-core machine on top of a bound. */
const SLACK_MS = 1500;

async function timed<T>(p: Promise<T>): Promise<{ ms: number; value?: T; err?: FsError }> {
  const t0 = Date.now();
  try {
    const value = await p;
    return { ms: Date.now() - t0, value };
  } catch (err) {
    return { ms: Date.now() - t0, err: err as FsError };
  }
}

(skipS3() ? describe.skip : describe)('S3 outage: a node rides it out with what it knows (Ceph RGW, fault proxy)', function () {
  this.timeout(180_000);
  const rgw = useSharedRgw();
  let gw: CephRgw;
  let proxy: FaultProxy;
  let direct: S3Store;
  let faulty: S3Store;
  let t: TestExport | undefined;
  const bucket = `outage-${Date.now().toString(36)}`;

  before(async () => {
    gw = await rgw();
    await gw.createBucket(bucket);
    direct = rgwStore(gw, bucket);
    proxy = await startFaultProxy({ target: gw.endpoint });
    faulty = rgwStore(gw, bucket, { endpoint: proxy.endpoint });
    await faulty.detectCapabilities();
  });
  afterEach(async () => {
    proxy.setMode('forward');
    await t?.cleanup();
    t = undefined;
  });
  after(async () => {
    faulty?.destroy();
    direct?.destroy();
    await proxy?.close();
  });

  for (const mode of ['refuse', 'hang'] as ProxyMode[]) {
    it(`${mode}: a directory made here works fully; a stale listing answers from cache; a never-listed one says "try later" in time`, async () => {
      const prefix = `${mode}/`;
      await direct.put(`${prefix}listed/x.txt`, Buffer.from('x'));
      await direct.put(`${prefix}never/y.txt`, Buffer.from('y'));
      await direct.put(`${prefix}lazy/w.txt`, Buffer.from('w'), { metadata: { mode: String(0o100600), uid: '1234', gid: '5678' } });
      // Files under lazy/ are read at their first LOOKUP (nothing at listing time).
      const importRules = [{ prefix: 'lazy/', sizeLessThan: 1024, trigger: 'file' as const }];
      t = await linkedExport(faulty, prefix, { dirTtlMs: 300, remoteWaitMs: WAIT_MS, syncDelayMs: 50, importRules });
      const f = t.fs;
      await mkdirs(f, 'made/sub');
      await writeFile(f, 'made/a.txt', Buffer.from('made here'));
      assert.deepEqual(await listNames(f, 'listed'), ['x.txt']);
      assert.deepEqual(await listNames(f, 'lazy'), ['w.txt']);
      assert.deepEqual(await listNames(f, ''), ['lazy', 'listed', 'made', 'never']);
      await t.reconciler.drain(30_000);
      const made = await resolve(f, 'made');
      const listed = await resolve(f, 'listed');
      const never = await resolve(f, 'never');
      const lazy = await resolve(f, 'lazy');
      await new Promise((r) => setTimeout(r, 400)); // every listing is past its TTL now

      proxy.setMode(mode);
      // In the directory made here: every call answers without the bucket.
      const calls = {
        lookupCached: await timed(f.lookup(ROOT, made, 'a.txt')),
        lookupMissing: await timed(f.lookup(ROOT, made, 'nothing')),
        create: await timed(f.create(ROOT, made, 'b.txt', { kind: 'unchecked', attributes: { mode: 0o644 } })),
        mkdir: await timed(f.mkdir(ROOT, made, 'c', { mode: 0o755 })),
        rename: await timed(f.rename(ROOT, made, 'b.txt', made, 'b2.txt')),
        remove: await timed(f.remove(ROOT, made, 'b2.txt')),
        readdirplus: await timed(f.readdir(ROOT, made, { cookie: 0n, verifier: Buffer.alloc(8), maxEntries: 100, withAttributes: true })),
        read: await timed(readFile(f, 'made/a.txt')),
        // A listed directory past its TTL: the cached listing.
        lookupStale: await timed(f.lookup(ROOT, listed, 'x.txt')),
        createStale: await timed(f.create(ROOT, listed, 'new.txt', { kind: 'unchecked', attributes: { mode: 0o644 } })),
      };
      for (const [name, c] of Object.entries(calls)) {
        assert.ok(c.ms < SLACK_MS, `${name} took ${c.ms} ms during the outage`);
        if (name === 'lookupMissing') assert.equal(c.err?.code, 'ENOENT');
        else assert.equal(c.err, undefined, `${name}: ${String(c.err)}`);
      }
      assert.equal(calls.read.value?.toString(), 'made here');
      // RMDIR checks the bucket for the victim's entries (past its TTL): bounded, then the cached view.
      const rmdir = await timed(f.rmdir(ROOT, made, 'sub'));
      assert.equal(rmdir.err, undefined, String(rmdir.err));
      assert.ok(rmdir.ms < WAIT_MS + SLACK_MS, `rmdir took ${rmdir.ms} ms`);
      assert.deepEqual((calls.readdirplus.value?.entries ?? []).map((e) => e.name).sort(), ['.', '..', 'a.txt', 'c', 'sub']);
      // Never listed: "try again later" within the bound, never ENOENT for a name that may exist.
      for (const name of ['y.txt', 'z.txt']) {
        const c = await timed(f.lookup(ROOT, never, name));
        assert.equal(c.err?.code, 'EJUKEBOX', `lookup of never/${name}: ${String(c.err ?? 'answered')}`);
        assert.ok(c.ms < WAIT_MS + SLACK_MS, `lookup of never/${name} took ${c.ms} ms`);
      }
      // Listed, but its attributes never read: "try again later", never the listing's defaults.
      const w = await timed(f.lookup(ROOT, lazy, 'w.txt'));
      assert.equal(w.err?.code, 'EJUKEBOX', `lookup of lazy/w.txt: ${String(w.err ?? JSON.stringify(w.value?.attributes))}`);
      assert.ok(w.ms < WAIT_MS + SLACK_MS, `lookup of lazy/w.txt took ${w.ms} ms`);
      assert.ok(proxy.hung > 0 || mode === 'refuse', 'the outage was never met');

      // S3 is back: what was done meanwhile reaches the bucket, and the never-listed directory lists.
      proxy.setMode('forward');
      // As an NFS client does on NFS3ERR_JUKEBOX: try again (the listing begun in the outage is
      // still in its store's backoff).
      let y: Buffer | undefined;
      for (let i = 0; i < 30 && !y; i++) {
        y = await readFile(f, 'never/y.txt').catch((err: FsError) => {
          if (err.code !== 'EJUKEBOX') throw err;
          return undefined;
        });
      }
      assert.equal(y?.toString(), 'y');
      let wAttrs;
      for (let i = 0; i < 30 && !wAttrs; i++) {
        wAttrs = await f.lookup(ROOT, lazy, 'w.txt').then((r) => r.attributes, (err: FsError) => {
          if (err.code !== 'EJUKEBOX') throw err;
          return undefined;
        });
      }
      assert.deepEqual([wAttrs?.mode, wAttrs?.uid, wAttrs?.gid], [0o600, 1234, 5678]);
      await t.reconciler.drain(60_000);
      const keys = Array.from((await bucketKeys(direct, prefix)).keys()).sort();
      assert.deepEqual(keys, ['lazy/w.txt', 'listed/new.txt', 'listed/x.txt', 'made/', 'made/a.txt', 'made/c/', 'never/y.txt']);
    });
  }
});
