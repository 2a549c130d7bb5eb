import assert from 'node:assert/strict';
import { Limiter } from './limiter';
import { KeyedMutex } from './keyed-mutex';

const tick = () => new Promise((r) => setImmediate(r));

describe('Limiter and KeyedMutex', () => {
  it('never runs more than the limit at once and serves waiters in order', async () => {
    const l = new Limiter(2);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(Array.from({ length: 8 }, (_, i) => l.run(async () => {
      active++;
      peak = Math.max(peak, active);
      order.push(i);
      await tick();
      active--;
    })));
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(l.inFlight, 0);
  });

  it('release is idempotent', async () => {
    const l = new Limiter(1);
    const release = await l.acquire();
    release();
    release();
    assert.equal(l.inFlight, 0);
  });

  it('[error] refuses a non-positive limit', () => assert.throws(() => new Limiter(0), RangeError));

  it('serialises one key, lets other keys run', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const job = (key: string, tag: string) => m.run(key, async () => {
      log.push(`${tag}+`);
      await tick();
      log.push(`${tag}-`);
    });
    await Promise.all([job('k', 'a'), job('k', 'b'), job('other', 'c')]);
    assert.ok(log.indexOf('a-') < log.indexOf('b+'));
    assert.ok(log.indexOf('c+') < log.indexOf('a-'));
  });
});
