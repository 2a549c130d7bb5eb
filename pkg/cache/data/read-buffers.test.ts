import assert from 'node:assert/strict';
import { ReadBuffers } from './read-buffers';

describe('cache: pooled read buffers', () => {
  it('lends a buffer of the asked length and reuses it once given back', () => {
    const pool = new ReadBuffers(1024, 4);
    const a = pool.lend(1000);
    assert.equal(a.data.length, 1000);
    a.data.fill(7);
    a.release();
    assert.equal(pool.freeCount, 1);
    const b = pool.lend(512);
    assert.equal(b.data.length, 512);
    assert.equal(b.data.buffer, a.data.buffer, 'the same memory, lent again');
    assert.equal(pool.freeCount, 0);
  });

  it('a second release does nothing (the buffer is not lent twice at once)', () => {
    const pool = new ReadBuffers(1024, 4);
    const a = pool.lend(100);
    a.release();
    a.release();
    assert.equal(pool.freeCount, 1);
    const b = pool.lend(100);
    const c = pool.lend(100);
    assert.notEqual(b.data.buffer, c.data.buffer);
  });

  it('keeps at most `keep` free buffers and refuses reads larger than its buffers', () => {
    const pool = new ReadBuffers(1024, 2);
    const leases = [pool.lend(10), pool.lend(10), pool.lend(10)];
    for (const l of leases) l.release();
    assert.equal(pool.freeCount, 2);
    assert.throws(() => pool.lend(1025), RangeError);
  });
});
