import assert from 'node:assert/strict';
import { freshFs, makeFile, ROOT, type TestFs } from '../test-helpers';

// Large reads lend a pooled buffer (read-buffers.ts) that the caller gives back with
// ReadResult.release once it has sent the bytes.
describe('cache file system: large reads with pooled buffers', () => {
  let t: TestFs;
  beforeEach(async () => {
    t = await freshFs();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  const MiB = 1024 * 1024;

  it('a buffer given back is lent to the next large read, whose bytes are its own', async () => {
    const a = await makeFile(t.fs, 1, 'a', { content: Buffer.alloc(MiB, 0xaa) });
    const b = await makeFile(t.fs, 1, 'b', { content: Buffer.alloc(MiB, 0xbb) });
    const ra = await t.fs.read(ROOT, a, 0, MiB);
    assert.ok(ra.data.equals(Buffer.alloc(MiB, 0xaa)));
    assert.equal(typeof ra.release, 'function', 'a 1 MiB read is pooled');
    ra.release!();
    const rb = await t.fs.read(ROOT, b, 0, MiB);
    assert.equal(rb.data.buffer, ra.data.buffer, 'the same memory, lent again');
    assert.ok(rb.data.equals(Buffer.alloc(MiB, 0xbb)));
    rb.release!();
  });

  it('while a buffer is out, another read gets different memory', async () => {
    const a = await makeFile(t.fs, 1, 'a', { content: Buffer.alloc(MiB, 1) });
    const r1 = await t.fs.read(ROOT, a, 0, MiB);
    const r2 = await t.fs.read(ROOT, a, 0, MiB);
    assert.notEqual(r1.data.buffer, r2.data.buffer);
    r2.data.fill(9);
    assert.ok(r1.data.equals(Buffer.alloc(MiB, 1)), 'a lent buffer is nobody else’s');
  });

  it('small reads and reads past the data file’s end are not pooled', async () => {
    const a = await makeFile(t.fs, 1, 'a', { content: Buffer.alloc(100 * 1024, 2) });
    const small = await t.fs.read(ROOT, a, 0, 4096);
    assert.equal(small.release, undefined);
    // Extended by SETATTR past its data: the tail reads as zeros, in a buffer of its own.
    await t.fs.setattr(ROOT, a, { size: 300 * 1024 });
    const r = await t.fs.read(ROOT, a, 0, 300 * 1024);
    assert.equal(r.release, undefined);
    assert.ok(r.data.subarray(0, 100 * 1024).equals(Buffer.alloc(100 * 1024, 2)));
    assert.ok(r.data.subarray(100 * 1024).equals(Buffer.alloc(200 * 1024)));
  });
});
