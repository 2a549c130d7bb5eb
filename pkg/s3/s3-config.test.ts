import assert from 'node:assert/strict';
import { buildClient } from './s3-config';

describe('S3 client configuration', () => {
  it('gives the SDK no info logger unless s3-sdk is traced: it would filter every request and response for a line nobody reads', function () {
    if (process.env.S3FILES_TRACE) this.skip(); // traced on purpose: the lines are wanted
    const client = buildClient({ bucket: 'b', region: 'us-east-1' }, 4);
    try {
      const logger = client.config.logger as { info?: unknown; error?: unknown; debug?: unknown };
      assert.equal(logger.info, undefined);
      assert.equal(typeof logger.error, 'function', 'failures still reach the s3-sdk debug log');
      assert.equal(typeof logger.debug, 'function');
    } finally {
      client.destroy();
    }
  });
});
