// The chart's RBAC against what the code calls: the controller's and the node's Kubernetes
// code run their whole repertoire (CreateVolume with its conflict path, DeleteVolume; status of
// a dynamic and a static volume, a removal, a sync-failure event) against
// FakeKubeApiServer (a fake at the API boundary), which logs the RBAC verb and resource of
// every request. Every one must be granted by the component's ClusterRole, and every
// s3files.csi.io rule (and the node's events rule) must be used: minimal both ways.
import assert from 'node:assert/strict';
import winston from 'winston';
import { helmTemplate } from '../../../test/support/helm';
import { FakeKubeApiServer } from '../../../test/support/fake-kube-api';
import { CrdVolumeStore } from '../crd-volume-store';
import { KubeEventRecorder } from './events';
import { S3FileSystemClient } from './s3filesystem-client';
import { StatusReporter } from './status-reporter';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** The rules of a ClusterRole of the chart, as Helm renders it with its default values. */
async function clusterRole(name: string): Promise<Rule[]> {
  const objects = (await helmTemplate()) as unknown as Array<{ kind: string; metadata: { name: string }; rules?: Rule[] }>;
  const role = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === name);
  if (!role?.rules) throw new Error(`ClusterRole ${name} not in the chart`);
  return role.rules;
}

/** "verb group/resource" for every permission the rules grant (wildcards not used by the chart). */
function granted(rules: Rule[], keep: (group: string, resource: string) => boolean): string[] {
  const out: string[] = [];
  for (const r of rules) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) if (keep(g, res)) out.push(`${v} ${g}/${res}`);
  return out.sort();
}

const silent = winston.createLogger({ silent: true });

describe('RBAC in the chart = what the Kubernetes code calls', () => {
  let api: FakeKubeApiServer;
  beforeEach(async () => {
    api = await FakeKubeApiServer.start();
  });
  afterEach(() => api.stop());

  it('controller (CrdVolumeStore): get, create, list, delete of s3filesystems, nothing more', async () => {
    const store = new CrdVolumeStore(api.kubeConfig());
    const record = { name: 'pvc-1', volumeId: 'v1:media:volumes/pvc-1', capacityBytes: 0, volumeContext: {} };
    assert.equal(await store.get('pvc-1'), undefined);
    await store.put(record);
    await new CrdVolumeStore(api.kubeConfig()).put(record); // exists: the read-back path
    await store.deleteByVolumeId(record.volumeId);
    const used = api.usedPermissions();
    const rules = await clusterRole('s3files-controller');
    const all = granted(rules, () => true);
    for (const p of used) assert.ok(all.includes(p), `the controller calls "${p}" but its ClusterRole does not grant it`);
    assert.deepEqual(granted(rules, (g) => g === 's3files.csi.io'), used, 's3files.csi.io rules grant more than the controller uses');
  });

  it('node (StatusReporter, events): get/list/create s3filesystems, patch s3filesystems/status, create events', async () => {
    await new CrdVolumeStore(api.kubeConfig()).put({ name: 'pvc-1', volumeId: 'v1:media:volumes/pvc-1', capacityBytes: 0, volumeContext: {} });
    const setup = api.requests.length;
    const kc = api.kubeConfig();
    const volumes = [
      { volumeId: 'v1:media:volumes/pvc-1', dirtyBytes: 1, error: 'PutObject failed: 503' },
      { volumeId: 'shared/static', dirtyBytes: 0 },
    ];
    const reporter = new StatusReporter({
      client: new S3FileSystemClient(kc),
      events: new KubeEventRecorder(kc, { component: 's3files-node', host: 'n1', logger: silent }),
      nodeId: 'n1',
      source: { syncStatus: async () => volumes },
      logger: silent,
    });
    await reporter.reportOnce();
    volumes.pop();
    await reporter.reportOnce();
    api.requests.splice(0, setup); // the controller's create above is not the node's
    const used = api.usedPermissions();
    const rules = await clusterRole('s3files-node');
    const all = granted(rules, () => true);
    for (const p of used) assert.ok(all.includes(p), `the node calls "${p}" but its ClusterRole does not grant it`);
    assert.deepEqual(all, used, 'the node ClusterRole grants more than the node uses');
  });
});
