// --cache-size of `s3files node`: bytes, or a share of the file system the cache directory is
// (or will be) on; wrong values are refused naming the flag.
import assert from 'node:assert/strict';
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { nodeCacheBudget } from '../../cmd/node';

describe('s3files node --cache-size', () => {
  it('takes bytes with a unit, or a percentage of the cache directory\'s file system (nearest existing parent)', async () => {
    assert.equal((await nodeCacheBudget('10G', '/nonexistent')).totalBytes, 10 * 2 ** 30);
    const s = await statfs(os.tmpdir());
    const dir = path.join(os.tmpdir(), 'not', 'made', 'yet');
    assert.equal((await nodeCacheBudget('50%', dir)).totalBytes, Math.floor((s.blocks * s.bsize * 50) / 100));
  });

  it('[error] refuses what is not a size or a percentage from 0 to 100, naming the flag', async () => {
    await assert.rejects(nodeCacheBudget('lots', os.tmpdir()), { message: '--cache-size: not a size: "lots" (use e.g. 10G or 512Mi), or a percentage such as 50%' });
    await assert.rejects(nodeCacheBudget('150%', os.tmpdir()), { message: '--cache-size must be a percentage from 0 to 100, got 150%' });
    await assert.rejects(nodeCacheBudget('0%', os.tmpdir()), { message: '--cache-size must be a percentage from 0 to 100, got 0%' });
  });
});
