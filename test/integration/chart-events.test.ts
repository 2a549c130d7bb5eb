// The chart's switch for bucket events and notices between nodes (node.events): off by
// default (the default rendering, manifests/, has no endpoint); on, the node plugin listens on
// the port in the host network, advertises its pod IP and reads the shared token from a Secret.
import assert from 'node:assert/strict';
import { renderChart } from '../support/chart-render';

type Container = { args: string[]; env: Array<{ name: string; valueFrom?: Record<string, Record<string, string>> }> };

function nodeContainer(values: Record<string, unknown> = {}): Container {
  const ds = renderChart('charts/s3files', { values }).objects.find((o) => o.kind === 'DaemonSet') as { spec: { template: { spec: { containers: Container[] } } } };
  return ds.spec.template.spec.containers[0]!;
}

describe('chart: node.events', () => {
  it('off by default', () => {
    const c = nodeContainer();
    assert.ok(!c.args.some((a) => a.startsWith('--events-')));
    assert.deepEqual(c.env.map((e) => e.name), ['NODE_ID']);
  });

  it('on: --events-listen, POD_IP and the token from the Secret', () => {
    const c = nodeContainer({ node: { events: { port: 9810, tokenSecret: 's3files-events' } } });
    assert.ok(c.args.includes('--events-listen=0.0.0.0:9810'));
    assert.deepEqual(c.env.find((e) => e.name === 'POD_IP')?.valueFrom, { fieldRef: { fieldPath: 'status.podIP' } });
    assert.deepEqual(c.env.find((e) => e.name === 'S3FILES_EVENTS_TOKEN')?.valueFrom, { secretKeyRef: { name: 's3files-events', key: 'token' } });
  });
});
