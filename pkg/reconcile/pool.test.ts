import assert from 'node:assert/strict';
import { forEachAdaptive, forEachLimit } from './pool';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A server that serves `capacity` calls at once in `serviceMs` each and queues the rest. */
function queueingServer(capacity: number, serviceMs: number) {
  let busy = 0;
  let peak = 0;
  const queue: Array<() => void> = [];
  return {
    get peak() {
      return peak;
    },
    async call(): Promise<void> {
      peak = Math.max(peak, busy + queue.length + 1);
      if (busy >= capacity) await new Promise<void>((r) => queue.push(r));
      else busy++;
      await sleep(serviceMs);
      const next = queue.shift();
      if (next) next();
      else busy--;
    },
  };
}

describe('pools of S3 calls', () => {
  it('forEachLimit: at most `limit` at once, every item once, the first failure after the rest settle', async () => {
    let active = 0;
    let peak = 0;
    const seen: number[] = [];
    await forEachLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      active++;
      peak = Math.max(peak, active);
      await sleep(2);
      seen.push(n);
      active--;
    });
    assert.equal(peak, 3);
    assert.deepEqual(seen.sort(), [1, 2, 3, 4, 5, 6, 7]);
  });

  it('forEachAdaptive: grows to max when calls do not slow down (latency-bound, like S3)', async () => {
    const items = Array.from({ length: 600 }, (_, i) => i);
    const { peakWindow } = await forEachAdaptive(items, { min: 4, start: 8, max: 32 }, () => sleep(20));
    assert.equal(peakWindow, 32);
  });

  it('forEachAdaptive: stays near what a queueing server serves at once, not at max', async () => {
    const server = queueingServer(4, 5);
    const items = Array.from({ length: 300 }, (_, i) => i);
    const { peakWindow } = await forEachAdaptive(items, { min: 2, start: 4, max: 32 }, () => server.call());
    assert.ok(peakWindow <= 16, `window grew to ${peakWindow} against a server of 4`);
  });

  it('forEachAdaptive: 2 at most while yieldTo() says a client waits; failures surface after the rest settle', async () => {
    let active = 0;
    let peak = 0;
    await forEachAdaptive(Array.from({ length: 50 }, (_, i) => i), { min: 8, max: 16, yieldTo: () => true }, async () => {
      active++;
      peak = Math.max(peak, active);
      await sleep(1);
      active--;
    });
    assert.equal(peak, 2);
    let started = 0;
    await assert.rejects(
      forEachAdaptive([1, 2, 3, 4, 5, 6, 7, 8], { min: 2, max: 2 }, async (n) => {
        started++;
        await sleep(2);
        if (n === 2) throw new Error('two');
      }),
      /two/,
    );
    assert.ok(started < 8, 'no new calls after the failure');
    assert.equal(active, 0);
  });
});
