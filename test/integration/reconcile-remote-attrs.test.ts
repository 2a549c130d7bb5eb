// Attributes of objects changed or added directly in the bucket, against FolderStore and Ceph RGW:
//   - a metadata-only change (a copy onto itself with metadata REPLACE, as `aws s3 cp
//     --metadata-directive REPLACE` or s3fs's chmod do: same ETag, new LastModified) shows
//     after the TTL, and never over a local change not uploaded yet;
//   - in a directory with more new entries than the HEAD limit, every entry gets its real
//     attributes: at once when looked up or GETATTRed, the rest in the background.
import assert from 'node:assert/strict';
import type { Attributes } from '../../pkg/vfs';
import type { ObjectStore } from '../../pkg/s3/object-store';
import { forBothStores, type StoreSetup } from '../support/both-stores';
import { ROOT, linkedExport, listNames, readFile, resolve, uniquePrefix, type TestExport } from '../support/linked-fs';


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const meta = (mode: number, uid: number, gid: number, mtime: number) => ({ mode: String(mode), uid: String(uid), gid: String(gid), mtime: String(mtime) });
const summary = (a: Attributes) => [a.mode, a.uid, a.gid, a.mtime.sec];

function remoteAttrsSuite(name: string, setup: () => Promise<StoreSetup>): void {
  describe(`linked import: attributes changed or added in the bucket (${name})`, function () {
    this.timeout(120_000);
    let store: ObjectStore;
    let cleanup: () => Promise<void>;
    let prefix = '';
    const open: TestExport[] = [];
    const link = async (extra: Parameters<typeof linkedExport>[2] = {}) => {
      const t = await linkedExport(store, prefix, extra);
      open.push(t);
      return t;
    };

    before(async () => ({ store, cleanup } = await setup()));
    beforeEach(function () {
      prefix = uniquePrefix(this.currentTest?.title.slice(0, 20).replace(/[^a-z0-9]+/gi, '-') ?? 't');
    });
    afterEach(async () => {
      for (const t of open.splice(0)) await t.cleanup();
    });
    after(async () => cleanup?.());

    /** A copy of the object onto itself with new metadata; the ETag must not change (else the test proves nothing). */
    async function chmodInBucket(key: string, metadata: Record<string, string>, contentType?: string): Promise<void> {
      const before = await store.head(key);
      await store.copy(key, key, { metadata, contentType });
      assert.equal((await store.head(key)).etag, before.etag, 'a copy onto itself kept the ETag');
    }

    it('a metadata-only change in the bucket (same ETag) shows after the TTL', async () => {
      await store.put(`${prefix}f.txt`, Buffer.from('payload'), { metadata: meta(0o100644, 1, 2, 1600000000) });
      await store.put(`${prefix}d/`, Buffer.alloc(0), { metadata: meta(0o40755, 3, 4, 1600000000), contentType: 'application/x-directory' });
      await store.put(`${prefix}d/inner.txt`, Buffer.from('inner'));
      const t = await link({ dirTtlMs: 200 });
      assert.deepEqual(summary(await t.fs.getattr(await resolve(t.fs, 'f.txt'))), [0o644, 1, 2, 1600000000]);
      assert.deepEqual(summary(await t.fs.getattr(await resolve(t.fs, 'd'))), [0o755, 3, 4, 1600000000]);
      await listNames(t.fs, 'd');
      await sleep(1100); // LastModified has whole seconds in S3 listings
      await chmodInBucket(`${prefix}f.txt`, meta(0o100600, 7, 8, 1700000000));
      await chmodInBucket(`${prefix}d/`, meta(0o40700, 9, 10, 1700000001), 'application/x-directory');
      await sleep(300);
      // Past the TTL the cached listing answers while the new one is fetched.
      assert.deepEqual(await listNames(t.fs, ''), ['d', 'f.txt']);
      await listNames(t.fs, 'd'); // the marker's own listing shows its new LastModified
      await t.fs.sync!.listingsIdle();
      assert.deepEqual(summary(await t.fs.getattr(await resolve(t.fs, 'f.txt'))), [0o600, 7, 8, 1700000000]);
      assert.deepEqual(summary(await t.fs.getattr(await resolve(t.fs, 'd'))), [0o700, 9, 10, 1700000001]);
      assert.equal((await readFile(t.fs, 'f.txt')).toString(), 'payload');
      // Nothing was queued for upload by the import.
      assert.equal(t.fs.sync!.stats().pendingFiles, 0);
    });

    it('a metadata-only change does not clobber a local chmod not uploaded yet; the local one reaches the bucket', async () => {
      await store.put(`${prefix}mine.txt`, Buffer.from('x'), { metadata: meta(0o100644, 1, 2, 1600000000) });
      const t = await link({ dirTtlMs: 200, syncDelayMs: 60_000 });
      const ino = await resolve(t.fs, 'mine.txt');
      await t.fs.setattr(ROOT, ino, { mode: 0o640 });
      await sleep(1100);
      await chmodInBucket(`${prefix}mine.txt`, meta(0o100604, 5, 6, 1700000000));
      await sleep(300);
      await listNames(t.fs, '');
      await t.fs.sync!.listingsIdle();
      assert.deepEqual(summary(await t.fs.getattr(ino)).slice(0, 3), [0o640, 1, 2]);
      await t.reconciler.drain();
      assert.equal((await store.head(`${prefix}mine.txt`)).metadata.mode, String(0o100640));
    });

    it('our own uploads are not taken for remote changes: no HEADs when listing them again', async () => {
      const t = await link({ dirTtlMs: 100 });
      for (let i = 0; i < 5; i++) await t.fs.create(ROOT, t.fs.rootIno, `own${i}`, { kind: 'unchecked', attributes: { mode: 0o600 } });
      await t.reconciler.drain();
      await sleep(150);
      const before = t.source.headRequests;
      const listings = t.fs.sync!.counters().listings;
      await listNames(t.fs, '');
      await t.fs.sync!.listingsIdle();
      await sleep(150);
      await listNames(t.fs, '');
      await t.fs.sync!.listingsIdle();
      assert.equal(t.fs.sync!.counters().listings - listings, 2, 'both re-listings ran');
      assert.equal(t.source.headRequests - before, 0, 'objects we uploaded were HEADed again');
    });

    it('entries past the HEAD limit get their real attributes (lookup, getattr, then the rest in the background)', async () => {
      const n = 24;
      for (let i = 0; i < n; i++) {
        await store.put(`${prefix}big/f${String(i).padStart(2, '0')}`, Buffer.alloc(i + 1, 1), { metadata: meta(0o100600, 1000 + i, 2000, 1600000000 + i) });
      }
      await store.put(`${prefix}big/zlink`, Buffer.from('f00'), { metadata: { mode: String(0o120777) } });
      const t = await link({ headLimit: 4 });
      const dir = await resolve(t.fs, 'big');
      const page = await t.fs.readdir(ROOT, dir, { cookie: 0n, verifier: Buffer.alloc(8), maxEntries: 100, withAttributes: false });
      const inos = new Map(page.entries.filter((e) => e.name.startsWith('f')).map((e) => [e.name, e.ino]));
      assert.equal(inos.size, n);
      // GETATTR of a handle (READDIR gave it) waits for the attributes.
      const a20 = await t.fs.getattr(inos.get('f20')!);
      assert.deepEqual([a20.mode, a20.uid, a20.gid, a20.mtime.sec, a20.size], [0o600, 1020, 2000, 1600000020, 21]);
      // LOOKUP of a name does too; the symlink past the limit becomes a symlink.
      const l = await t.fs.lookup(ROOT, dir, 'f17');
      assert.deepEqual(summary(l.attributes), [0o600, 1017, 2000, 1600000017]);
      const sym = await t.fs.lookup(ROOT, dir, 'zlink');
      assert.equal(sym.attributes.type, 'symlink');
      assert.equal((await t.fs.readlink(ROOT, sym.ino)).target, 'f00');
      // The rest are read in the background: READDIRPLUS shows them all within a moment.
      let wrong: string[] = [];
      for (let i = 0; i < 100; i++) {
        const plus = await t.fs.readdir(ROOT, dir, { cookie: 0n, verifier: Buffer.alloc(8), maxEntries: 100, withAttributes: true });
        wrong = plus.entries.filter((e) => e.name.startsWith('f') && e.attributes!.uid !== 1000 + Number(e.name.slice(1))).map((e) => e.name);
        if (wrong.length === 0) break;
        await sleep(50);
      }
      assert.deepEqual(wrong, [], 'entries still with default attributes');
      assert.equal(t.fs.sync!.stats().pendingFiles, 0, 'reading attributes queued uploads');
    });

    it("directories looked up while their own listing runs beside their marker's HEAD: each answers with the marker's owner (a listing parsed before the HEAD answered does not mark it unread again)", async () => {
      const n = 40;
      const names = Array.from({ length: n }, (_, i) => `d${String(i).padStart(2, '0')}`);
      for (const [i, d] of names.entries()) {
        await store.put(`${prefix}${d}/`, Buffer.alloc(0), { metadata: meta(0o40750, 1000 + i, 2000, 1600000000), contentType: 'application/x-directory' });
        await store.put(`${prefix}${d}/inner.txt`, Buffer.from(d));
      }
      // Five rounds, each on a new export: the listing and the HEAD race afresh each time.
      for (let round = 0; round < 5; round++) {
        const t = await link();
        const found = await Promise.all(names.map((d) => t.fs.lookup(ROOT, t.fs.rootIno, d)));
        assert.deepEqual(found.map((l) => l.attributes.uid), names.map((_, i) => 1000 + i), `round ${round}`);
        assert.ok(found.every((l) => l.attributes.mode === 0o750));
      }
    });
  });
}

forBothStores('attrs', remoteAttrsSuite);
