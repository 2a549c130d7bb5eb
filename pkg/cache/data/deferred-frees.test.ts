import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeferredFrees } from './deferred-frees';

describe('cache: deferred frees (unlinks of removed inodes after the removes pause)', () => {
  function recording(): { freed: number[]; frees: DeferredFrees } {
    const freed: number[] = [];
    return { freed, frees: new DeferredFrees(async (ino) => void freed.push(ino)) };
  }

  /** Each unlink takes `wait()`; mostInFlight() is the most that ran at once. */
  function counting(wait: () => Promise<unknown>): { freed: number[]; frees: DeferredFrees; mostInFlight(): number } {
    const freed: number[] = [];
    let inFlight = 0;
    let most = 0;
    const frees = new DeferredFrees(async (ino) => {
      most = Math.max(most, ++inFlight);
      await wait();
      freed.push(ino);
      inFlight--;
    });
    return { freed, frees, mostInFlight: () => most };
  }

  it('waits while removes keep coming, then frees everything once they pause', async () => {
    const { freed, frees } = recording();
    for (let i = 1; i <= 5; i++) {
      frees.add(i);
      await sleep(20); // less than the quiet time between two removes
    }
    assert.deepEqual(freed, [], 'nothing is unlinked while removes keep coming');
    assert.equal(frees.queued, 5);
    await sleep(150);
    assert.deepEqual(freed, [1, 2, 3, 4, 5]);
    assert.equal(frees.queued, 0);
  });

  it('under a steady stream of removes the oldest still goes within about a second', async () => {
    const { freed, frees } = recording();
    const start = performance.now();
    let i = 0;
    while (performance.now() - start < 1400) {
      frees.add(i++);
      await sleep(20);
    }
    assert.ok(freed.length > 0, 'some were unlinked while removes kept coming');
    assert.equal(freed[0], 0, 'the oldest first');
  });

  it('settle() starts the queued ones at once and waits for them; settleStarted() does not start any', async () => {
    const { freed, frees } = recording();
    frees.add(7);
    frees.add(8);
    await frees.settleStarted();
    assert.deepEqual(freed, []);
    await frees.settle();
    assert.deepEqual(freed, [7, 8]);
  });

  it("settle(except) starts that inode's unlink but does not wait for it", async () => {
    const started: number[] = [];
    let unblock!: () => void;
    const blocked = new Promise<void>((resolve) => (unblock = resolve));
    // Inode 2's unlink waits for a lock the caller of settle() holds.
    const frees = new DeferredFrees(async (ino) => {
      started.push(ino);
      if (ino === 2) await blocked;
    });
    frees.add(1);
    frees.add(2);
    await frees.settle(2);
    assert.deepEqual(started, [1, 2], 'both started');
    let all = false;
    const settledAll = frees.settle().then(() => (all = true));
    await sleep(20);
    assert.equal(all, false, 'a plain settle() still waits for every unlink');
    unblock();
    await settledAll;
  });

  it('a long queue starts without waiting for a pause, and runs two unlinks at a time', async () => {
    const { freed, frees, mostInFlight } = counting(() => new Promise((r) => setImmediate(r)));
    for (let i = 0; i < 4096; i++) frees.add(i);
    assert.equal(frees.queued, 0, 'the 4,096th queued inode releases them all');
    for (let i = 0; i < 200 && freed.length < 4096; i++) await sleep(10);
    assert.equal(freed.length, 4096);
    assert.deepEqual(freed.slice(0, 5), [0, 1, 2, 3, 4], 'in the order they were freed');
    assert.equal(mostInFlight(), 2);
  });

  it('settle() runs every released unlink at once, past the limit, and waits for them', async () => {
    const { freed, frees, mostInFlight } = counting(() => sleep(5));
    for (let i = 0; i < 10; i++) frees.add(i);
    await frees.settle();
    assert.equal(freed.length, 10);
    assert.equal(mostInFlight(), 10, 'a caller that needs the space does not wait two at a time');
  });
});
