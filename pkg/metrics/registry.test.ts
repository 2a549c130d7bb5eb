import assert from 'node:assert/strict';
import { metrics } from './registry';

describe('metrics registry', () => {
  it('names the process metrics s3files_process_* and s3files_nodejs_*, prefix not doubled', async () => {
    const names = (await metrics().registry.getMetricsAsJSON()).map((m) => m.name);
    assert.ok(names.includes('s3files_process_cpu_seconds_total'), names.join(' '));
    assert.ok(names.includes('s3files_process_resident_memory_bytes'));
    assert.ok(names.some((n) => n.startsWith('s3files_nodejs_')));
    assert.deepEqual(names.filter((n) => n.includes('process_process')), []);
  });
});
