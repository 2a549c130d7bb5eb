import assert from 'node:assert/strict';
import { kubeSource } from './config';
import { totals } from './status-reporter';
import { newS3FileSystem, resourceNameForVolume } from './s3filesystem';

describe('kube: where the API is, names, status totals', () => {
  const cases: Array<{ name: string; flag?: string; env: NodeJS.ProcessEnv; want: ReturnType<typeof kubeSource> }> = [
    { name: '--kubeconfig wins', flag: '/k', env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, want: { kubeconfig: '/k', inCluster: false } },
    { name: 'in a pod', env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, want: { inCluster: true } },
    { name: 'neither: no API', env: {}, want: undefined },
  ];
  for (const c of cases) it(`kubeSource: ${c.name}`, () => assert.deepEqual(kubeSource(c.flag, c.env), c.want));

  it('resource names: a PV name is kept, anything else hashed', () => {
    assert.equal(resourceNameForVolume('pvc-0b6c2a7e-4f1d-4d1a-9a55-0f5e7c1e2d3a'), 'pvc-0b6c2a7e-4f1d-4d1a-9a55-0f5e7c1e2d3a');
    for (const bad of ['UPPER', 'a_b', '-x', 'a'.repeat(254), '']) assert.match(resourceNameForVolume(bad), /^fs-[0-9a-f]{40}$/);
  });

  it('totals: with no node left, phase Synced, nothing dirty, and the last sync kept', () => {
    const obj = { ...newS3FileSystem('x', 'bkt/p'), status: { lastSync: '2026-01-01T00:00:00.000Z', nodes: [{ node: 'n1', dirtyBytes: 5 }] } };
    assert.deepEqual(totals(obj, []), { phase: 'Synced', dirtyBytes: 0, lastSync: '2026-01-01T00:00:00.000Z', nodes: [] });
    assert.deepEqual(totals(newS3FileSystem('x', 'bkt/p'), []).lastSync, null);
  });
});
