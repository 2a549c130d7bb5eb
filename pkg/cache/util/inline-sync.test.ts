import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { INLINE_MAX_BYTES, InlineSyncPolicy } from './inline-sync';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('cache: small stable writes synced on the calling thread only when alone', () => {
  it('a lone small write is inlined, a large one never', () => {
    const policy = new InlineSyncPolicy();
    assert.equal(policy.mayInline(4096), true);
    assert.equal(policy.mayInline(INLINE_MAX_BYTES + 1), false);
  });

  it('a sync running on the thread pool sends the next ones there too', async () => {
    const policy = new InlineSyncPolicy();
    const ended = policy.asyncStarted();
    assert.equal(policy.mayInline(4096), false);
    ended();
    assert.equal(policy.mayInline(4096), false, 'overlapping writers keep the thread pool for a while');
    await sleep(80);
    assert.equal(policy.mayInline(4096), true, 'and alone again after that');
  });

  it('a second inline sync in the same turn (writers queued up) switches to the thread pool', async () => {
    const policy = new InlineSyncPolicy();
    assert.equal(policy.mayInline(4096), true);
    const ended = policy.inlineStarted();
    ended();
    assert.equal(policy.mayInline(4096), false, 'same turn, right after');
    await nextTurn();
    assert.equal(policy.mayInline(4096), false, 'still grouped in the next turn');
    await sleep(80);
    assert.equal(policy.mayInline(4096), true);
  });

  it('one writer at a time, each after the last one ended, stays inline', async () => {
    const policy = new InlineSyncPolicy();
    for (let i = 0; i < 5; i++) {
      assert.equal(policy.mayInline(4096), true, `write ${i}`);
      policy.inlineStarted()();
      await sleep(2); // the client's round trip before its next write
    }
  });
});
