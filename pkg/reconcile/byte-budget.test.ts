import assert from 'node:assert/strict';
import { ByteBudget } from './byte-budget';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('byte budget', () => {
  it('never holds more than its capacity; a request over it runs alone; first come, first served', async () => {
    const b = new ByteBudget(100);
    const order: string[] = [];
    const run = (name: string, bytes: number, ms: number) =>
      b.run(bytes, async () => {
        order.push(name);
        assert.ok(b.inUse <= 100, `in use ${b.inUse}`);
        await sleep(ms);
      });
    await Promise.all([run('a60', 60, 20), run('b60', 60, 5), run('c10', 10, 5), run('huge', 500, 5), run('d30', 30, 5)]);
    assert.deepEqual(order, ['a60', 'b60', 'c10', 'huge', 'd30']);
    assert.equal(b.peak, 100);
    assert.equal(b.inUse, 0);
  });

  it('gives the bytes back when the work fails', async () => {
    const b = new ByteBudget(10);
    await assert.rejects(b.run(10, async () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(b.inUse, 0);
    assert.equal(await b.run(10, async () => 'ok'), 'ok');
  });
});
