import assert from 'node:assert/strict';
import { backoffDelay, classifyFailure, RetryPolicy, withRetries } from './retry';

const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
const sdkError = (name: string, status: number) => Object.assign(new Error(name), { name, Code: name, $metadata: { httpStatusCode: status } });
const netError = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

describe('retry policy', () => {
  describe('classifyFailure', () => {
    const table: Array<[string, unknown, string]> = [
      ['503 SlowDown', sdkError('SlowDown', 503), 'throttle'],
      ['503 without code', sdkError('ServiceUnavailable', 503), 'transient'],
      ['429', sdkError('TooManyRequests', 429), 'throttle'],
      ['500 InternalError', sdkError('InternalError', 500), 'transient'],
      ['502', sdkError('BadGateway', 502), 'transient'],
      ['504', sdkError('GatewayTimeout', 504), 'transient'],
      ['400 RequestTimeout', sdkError('RequestTimeout', 400), 'transient'],
      ['ECONNRESET', netError('ECONNRESET'), 'transient'],
      ['ECONNREFUSED', netError('ECONNREFUSED'), 'transient'],
      ['EPIPE', netError('EPIPE'), 'transient'],
      ['smithy TimeoutError', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'transient'],
      ['socket hang up', new Error('socket hang up'), 'transient'],
      ['[error] 403 AccessDenied', sdkError('AccessDenied', 403), 'fatal'],
      ['[error] 404 NoSuchKey', sdkError('NoSuchKey', 404), 'fatal'],
      ['[error] 412 PreconditionFailed', sdkError('PreconditionFailed', 412), 'fatal'],
      ['[error] 400 InvalidArgument', sdkError('InvalidArgument', 400), 'fatal'],
      ['[error] a programming error', new TypeError('x is undefined'), 'fatal'],
    ];
    for (const [name, err, kind] of table) it(name, () => assert.equal(classifyFailure(err), kind));
  });

  it('full jitter: delay is random × min(cap, base × 2^(attempt-1))', () => {
    assert.equal(backoffDelay(1, policy, () => 0.999), 99);
    assert.equal(backoffDelay(3, policy, () => 0.5), 200);
    assert.equal(backoffDelay(10, policy, () => 0.5), 500); // capped at 1000
    assert.equal(backoffDelay(4, policy, () => 0), 0);
  });

  it('retries retryable failures with the computed sleeps, then succeeds', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const out = await withRetries(
      async () => {
        if (++calls < 3) throw sdkError('SlowDown', 503);
        return 'ok';
      },
      policy,
      { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
      () => new Error('gave up'),
    );
    assert.equal(out, 'ok');
    assert.deepEqual(sleeps, [50, 100]);
  });

  it('[error] gives up after maxAttempts with the last outcome', async () => {
    let calls = 0;
    await assert.rejects(
      withRetries(async () => { calls++; throw netError('ECONNRESET'); }, policy, { sleep: async () => undefined, random: () => 0 }, (o) => new Error(`${o.kind} x${o.attempts}`)),
      /transient x5/,
    );
    assert.equal(calls, 5);
  });

  it('[error] does not retry fatal failures', async () => {
    let calls = 0;
    await assert.rejects(
      withRetries(async () => { calls++; throw sdkError('AccessDenied', 403); }, policy, { sleep: async () => undefined, random: () => 0 }, (o) => new Error(o.kind)),
      /fatal/,
    );
    assert.equal(calls, 1);
  });
});
