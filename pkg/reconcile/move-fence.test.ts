import assert from 'node:assert/strict';
import { MoveFence } from './move-fence';

const tick = () => new Promise((r) => setImmediate(r));

describe('move fence', () => {
  it('turns away jobs under either prefix of a move in progress, and only those', async () => {
    const f = new MoveFence();
    let release!: () => void;
    const moving = f.move('a/', 'b/', () => new Promise<void>((r) => (release = r)));
    await tick();
    assert.equal(f.tryHold(['a/x']), undefined);
    assert.equal(f.tryHold(['c/x', 'b/y']), undefined);
    assert.equal(await f.withKeys(['b/'], async () => 1), undefined);
    const batch = f.holdUnfenced(['a/1', 'c/1', 'b/2']);
    assert.deepEqual(batch.held, ['c/1']);
    batch.release();
    const other = f.tryHold(['c/x', 'ab/x']);
    assert.ok(other, 'keys elsewhere (ab/ is not under a/) are not held back');
    other();
    assert.equal(f.hides('a/'), true);
    assert.equal(f.hides('b/'), true);
    assert.equal(f.hides('a/sub/'), false);
    assert.equal(f.blocks('a/sub/x'), true);
    release();
    await moving;
    assert.equal(f.blocks('a/x'), false);
    assert.ok(f.tryHold(['a/x']));
  });

  it('a move waits for running jobs on its keys; a nested move waits for the first', async () => {
    const f = new MoveFence();
    const order: string[] = [];
    const job = f.tryHold(['a/x'])!;
    const first = f.move('a/', 'b/', async () => {
      order.push('move a');
      await tick();
      order.push('move a done');
    });
    const nested = f.move('b/c/', 'd/', async () => void order.push('move b/c'));
    const apart = f.move('e/', 'f/', async () => void order.push('move e'));
    await tick();
    assert.deepEqual(order, ['move e'], 'the move of a/ waits for the job holding a/x');
    job();
    await Promise.all([first, nested, apart]);
    assert.deepEqual(order, ['move e', 'move a', 'move a done', 'move b/c']);
  });
});
