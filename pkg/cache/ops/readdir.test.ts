import assert from 'node:assert/strict';
import { ROOT, expectCode, freshFs, makeDir, makeFile, names, type TestFs } from '../test-helpers';
import type { ReadDirResult } from '../../vfs';

describe('cache file system: readdir', () => {
  let t: TestFs;
  beforeEach(async () => {
    t = await freshFs();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  const page = (dir: number, cookie: bigint, verifier: Buffer, maxEntries: number, withAttributes = false): Promise<ReadDirResult> =>
    t.fs.readdir(ROOT, dir, { cookie, verifier, maxEntries, withAttributes });

  it("returns '.' and '..' first with cookies 1 and 2, then entries in creation order", async () => {
    const d = await makeDir(t.fs, 1, 'd');
    for (const n of ['zeta', 'alpha', 'mid']) await makeFile(t.fs, d, n);
    const r = await page(d, 0n, Buffer.alloc(8), 100);
    assert.deepEqual(r.entries.map((e) => [e.name, e.cookie]), [['.', 1n], ['..', 2n], ['zeta', 3n], ['alpha', 4n], ['mid', 5n]]);
    assert.equal(r.entries[1]!.ino, 1);
    assert.equal(r.eof, true);
    assert.equal(r.dirAttributes.ino, d);
  });

  it('pages with eof only on the last page, and gives attributes on request', async () => {
    for (let i = 0; i < 10; i++) await makeFile(t.fs, 1, `f${i}`);
    const p1 = await page(1, 0n, Buffer.alloc(8), 1, true);
    assert.deepEqual([p1.entries.map((e) => e.name), p1.eof], [['.'], false]);
    assert.equal(p1.entries[0]!.attributes?.type, 'dir');
    const p2 = await page(1, 1n, p1.verifier, 1);
    assert.deepEqual([p2.entries.map((e) => e.name), p2.eof], [['..'], false]);
    const p3 = await page(1, 2n, p2.verifier, 10, true);
    assert.equal(p3.entries.length, 10);
    assert.equal(p3.eof, true);
    assert.ok(p3.entries.every((e) => e.attributes?.type === 'file' && e.attributes.ino === e.ino));
    const p4 = await page(1, 2n, p2.verifier, 9);
    assert.equal(p4.eof, false);
    const empty = await page(1, 10_000n, p3.verifier, 10);
    assert.deepEqual([empty.entries.length, empty.eof], [0, true], 'a cookie past the end is just eof');
  });

  it('loses and duplicates no entry while entries are added and removed between pages', async () => {
    const d = await makeDir(t.fs, 1, 'd');
    const stable = new Set<string>();
    for (let i = 0; i < 200; i++) {
      await makeFile(t.fs, d, `s${i}`);
      stable.add(`s${i}`);
    }
    for (let i = 0; i < 100; i++) await makeFile(t.fs, d, `v${i}`);
    const seen: string[] = [];
    let cookie = 0n;
    let verifier: Buffer = Buffer.alloc(8);
    let round = 0;
    for (;;) {
      const r = await page(d, cookie, verifier, 17);
      seen.push(...r.entries.map((e) => e.name));
      if (r.eof) break;
      cookie = r.entries[r.entries.length - 1]!.cookie;
      verifier = r.verifier;
      // Churn between pages: remove volatile entries and add new ones (and re-add an old name).
      await t.fs.remove(ROOT, d, `v${round}`);
      await makeFile(t.fs, d, `new${round}`);
      if (round === 3) await makeFile(t.fs, d, 'v0');
      round++;
    }
    const counts = new Map<string, number>();
    for (const n of seen) counts.set(n, (counts.get(n) ?? 0) + 1);
    for (const n of stable) assert.equal(counts.get(n), 1, `${n} seen ${counts.get(n) ?? 0} times`);
    for (const [n, c] of counts) assert.equal(c, 1, `${n} duplicated`);
    assert.ok(round > 10);
  });

  it('keeps cookies valid across a restart and uses a constant verifier', async () => {
    const d = await makeDir(t.fs, 1, 'd');
    for (let i = 0; i < 5; i++) await makeFile(t.fs, d, `f${i}`);
    const p1 = await page(d, 0n, Buffer.alloc(8), 4);
    await t.reopen();
    const p2 = await page(d, p1.entries[3]!.cookie, p1.verifier, 10);
    assert.deepEqual(p2.entries.map((e) => e.name), ['f2', 'f3', 'f4']);
    assert.ok(p2.verifier.equals(p1.verifier));
  });

  it('[error] EBADCOOKIE for a verifier of another directory; ENOTDIR for files', async () => {
    const a = await makeDir(t.fs, 1, 'a');
    const b = await makeDir(t.fs, 1, 'b');
    const pa = await page(a, 0n, Buffer.alloc(8), 10);
    const pb = await page(b, 0n, Buffer.alloc(8), 10);
    assert.ok(!pa.verifier.equals(pb.verifier));
    await expectCode(page(a, 2n, pb.verifier, 10), 'EBADCOOKIE');
    const f = await makeFile(t.fs, 1, 'f');
    await expectCode(page(f, 0n, Buffer.alloc(8), 10), 'ENOTDIR');
    await expectCode(page(424242, 0n, Buffer.alloc(8), 10), 'ESTALE');
  });

  it('lists a large directory completely', async () => {
    const d = await makeDir(t.fs, 1, 'big');
    const want: string[] = [];
    await Promise.all(
      Array.from({ length: 2000 }, (_, i) => {
        want.push(`file-${i}`);
        return makeFile(t.fs, d, `file-${i}`);
      }),
    );
    const got = await names(t.fs, d);
    assert.equal(got.length, 2002);
    assert.deepEqual(new Set(got.slice(2)), new Set(want));
  });
});
