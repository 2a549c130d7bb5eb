import assert from 'node:assert/strict';
import { HandleCodec } from '../handles';
import { HandleCache } from './handle-cache';

describe('nfs3 handle cache', () => {
  const codec = new HandleCodec(Buffer.alloc(32, 3));

  it('[cache] answers exactly as the codec, for handles it minted and handles it verified', () => {
    const cache = new HandleCache(codec, 4);
    const fh = cache.encode(7n, 42, 9);
    assert.deepEqual(fh, codec.encode(7n, 42, 9));
    assert.deepEqual(cache.decode(fh), { exportId: 7n, ino: 42, generation: 9 });
    const other = codec.encode(8n, 1, 0xffffffff);
    assert.deepEqual(cache.decode(other), codec.decode(other));
    assert.deepEqual(cache.decode(Buffer.from(other)), { exportId: 8n, ino: 1, generation: 0xffffffff });
  });

  it('[error] junk is refused every time and never remembered', () => {
    let calls = 0;
    const counting = Object.assign(Object.create(codec) as HandleCodec, {
      decode: (h: Buffer) => {
        calls++;
        return codec.decode(h);
      },
    });
    const cache = new HandleCache(counting, 4);
    const junk = Buffer.alloc(40, 0xee);
    assert.equal(cache.decode(junk), undefined);
    assert.equal(cache.decode(junk), undefined);
    assert.equal(calls, 2);
    const good = codec.encode(1n, 2, 3);
    cache.decode(good);
    cache.decode(good);
    assert.equal(calls, 3, 'a verified handle is verified once');
  });

  it('[cache] stays within its bound, dropping the oldest', () => {
    const cache = new HandleCache(codec, 2);
    const a = cache.encode(1n, 1, 1);
    cache.encode(1n, 2, 1);
    cache.encode(1n, 3, 1);
    const maps = cache as unknown as { decoded: Map<string, unknown>; encoded: Map<string, unknown> };
    assert.equal(maps.encoded.size, 2);
    assert.equal(maps.decoded.size, 2);
    assert.deepEqual(cache.decode(a), { exportId: 1n, ino: 1, generation: 1 }, 'evicted entries are recomputed');
  });

  it('[cache] a minted handle is reused only for the same export, inode and generation', () => {
    const cache = new HandleCache(codec, 16);
    const big = 0xfedcba9876543210n;
    const cases: Array<[bigint, number, number]> = [[1n, 5, 1], [2n, 5, 1], [1n, 5, 2], [big, 5, 1], [big, 5, 0xffffffff], [1n, 5, 1]];
    for (const [exportId, ino, generation] of cases) {
      assert.deepEqual(cache.encode(exportId, ino, generation), codec.encode(exportId, ino, generation), `${exportId}/${ino}/${generation}`);
    }
    const again = cache.encode(big, 6, 3);
    assert.equal(cache.encode(big, 6, 3), again, 'a hit returns the remembered buffer');
  });
});
