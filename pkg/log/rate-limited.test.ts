import assert from 'node:assert/strict';
import { captureLogger } from '../../test/support/rpc-test-program';
import { RateLimitedLog } from './rate-limited';

describe('RateLimitedLog', () => {
  it('logs the first line per key and interval, then says how many it left out', () => {
    const logs = captureLogger();
    let now = 0;
    const limited = new RateLimitedLog(logs.logger, 1000, () => now);
    for (let i = 0; i < 5; i++) limited.write('warn', 'a', 'slow client', { client: 'x' });
    limited.write('warn', 'b', 'slow client', { client: 'y' });
    now = 1000;
    limited.write('warn', 'a', 'slow client', { client: 'x' });
    assert.deepEqual(
      logs.entries.map((e) => [e.message, e.client, e.suppressedSinceLast]),
      [['slow client', 'x', undefined], ['slow client', 'y', undefined], ['slow client', 'x', 4]],
    );
  });
});
