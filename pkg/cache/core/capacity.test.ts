import assert from 'node:assert/strict';
import { Capacity } from './capacity';
import type { InodeTable } from '../meta/inode-table';
import { isFsError } from '../../vfs';

describe('cache capacity: a write near a full disk', () => {
  it('[error] does not wait for the unlink of its own file, which waits for it (ENOSPC, no hang)', async () => {
    // Inode 7 was removed while this write to it held its file lock: its unlink waits for that
    // lock, so settling it would never finish while the writer waits; every other unlink is done.
    const settledExcept: Array<number | undefined> = [];
    const settleFrees = (except?: number): Promise<void> => {
      settledExcept.push(except);
      return except === 7 ? Promise.resolve() : new Promise(() => undefined);
    };
    const capacity = new Capacity('/nonexistent', {} as InodeTable, undefined, settleFrees);
    // A 64 MiB disk with 1 MiB free: inside the metadata reserve.
    (capacity as unknown as { statfs(): Promise<unknown> }).statfs = async () => ({ bavail: 256, bsize: 4096, blocks: 16384 });
    const started = performance.now();
    const outcome = await capacity.admitOnDisk(64 * 1024, 7).then(() => 'admitted', (err: unknown) => err);
    assert.ok(isFsError(outcome, 'ENOSPC'), String(outcome));
    assert.ok(performance.now() - started < 2000, 'bounded wait');
    assert.deepEqual(settledExcept, [7], "the writer's own file is left out of the wait");
  });
});
