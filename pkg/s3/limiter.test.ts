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

  it('[throttle] halves the limit once per cool-down, never below min, and grows back by one per limit successes', () => {
    let now = 0;
    const l = new Limiter(16, { min: 2, now: () => now });
    l.throttled();
    assert.equal(l.limit, 8);
    l.throttled(); // the same burst of throttles: one cut
    assert.equal(l.limit, 8);
    now += 300;
    l.throttled();
    now += 300;
    l.throttled();
    now += 300;
    l.throttled();
    assert.equal(l.limit, 2, 'never below min');
    assert.equal(l.cuts, 3);
    l.succeeded();
    assert.equal(l.limit, 2, 'one success is half a slot at limit 2');
    l.succeeded();
    assert.equal(l.limit, 3);
    for (let i = 0; i < 3; i++) l.succeeded();
    assert.equal(l.limit, 4);
    for (let i = 0; i < 1000; i++) l.succeeded();
    assert.equal(l.limit, 16, 'never above max');
  });

  it('[throttle] a cut takes effect as requests finish; growth admits waiters at once', async () => {
    const l = new Limiter(4, { min: 1, now: () => 0 });
    const releases = await Promise.all(Array.from({ length: 4 }, () => l.acquire()));
    let admitted = 0;
    const waiters = Array.from({ length: 3 }, () => l.acquire().then((r) => (admitted++, r)));
    l.throttled(); // limit 2 with 4 running
    releases[0]!();
    releases[1]!();
    await tick();
    assert.equal(admitted, 0, 'no slot is handed on while over the limit');
    assert.equal(l.inFlight, 2);
    releases[2]!();
    await tick();
    assert.equal(admitted, 1, 'under the limit again: the next waiter runs');
    l.succeeded();
    l.succeeded(); // 2 successes at limit 2: limit 3
    await tick();
    assert.equal(l.limit, 3);
    assert.equal(admitted, 2, 'a slot grown is given to a waiter');
    releases[3]!();
    await tick();
    assert.equal(admitted, 3);
    for (const w of waiters) (await w)();
    assert.equal(l.inFlight, 0);
  });

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
