import assert from 'node:assert/strict';
import { Capacity } from './capacity';
import type { InodeTable } from './inode-table';
import { isFsError } from '../vfs';

describe('cache capacity: a write near a full disk', () => {
  it('[error] does not wait forever for unlinks that wait for it (ENOSPC after a bounded wait)', async () => {
    // The unlink of a file removed meanwhile waits for the lock this writer holds: settling
    // never finishes while the writer waits.
    const neverSettles = (): Promise<void> => new Promise(() => undefined);
    const capacity = new Capacity('/nonexistent', {} as InodeTable, undefined, neverSettles);
    // A 64 MiB disk with 1 MiB free: inside the metadata reserve.
    (capacity as unknown as { statfs(): Promise<unknown> }).statfs = async () => ({ bavail: 256, bsize: 4096, blocks: 16384 });
    const started = performance.now();
    const outcome = await capacity.admitOnDisk(64 * 1024).then(() => 'admitted', (err: unknown) => err);
    assert.ok(isFsError(outcome, 'ENOSPC'), String(outcome));
    assert.ok(performance.now() - started < 2000, 'bounded wait');
  });
});
