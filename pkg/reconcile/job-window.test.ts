import assert from 'node:assert/strict';
import { ThrottledError, TransientError } from '../s3/errors';
import { JobWindow } from './job-window';

describe('job window', () => {
  it('halves on throttling (once per second), not on other failures, and grows back one per 8 successes', () => {
    let now = 0;
    const w = new JobWindow(32, () => now);
    assert.equal(w.failed(new TransientError('x', { operation: 'put' })), false);
    assert.equal(w.size, 32);
    assert.equal(w.failed(new ThrottledError('slow down', { operation: 'put' })), true);
    assert.equal(w.size, 16);
    assert.equal(w.failed(new ThrottledError('slow down', { operation: 'put' })), false, 'the same overload');
    now += 1000;
    // Wrapped, as the reconciler may see it.
    assert.equal(w.failed(new Error('upload failed', { cause: new ThrottledError('slow down', { operation: 'put' }) })), true);
    assert.equal(w.size, 8);
    for (let i = 0; i < 8 * 3; i++) w.succeeded();
    assert.equal(w.size, 11);
    for (let i = 0; i < 1000; i++) w.succeeded();
    assert.equal(w.size, 32, 'never above the configured number');
    for (let i = 0; i < 10; i++) {
      now += 1000;
      w.failed(new ThrottledError('slow down', { operation: 'put' }));
    }
    assert.equal(w.size, 1, 'never below one');
  });
});
