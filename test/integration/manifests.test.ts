// Packaging: manifests/ renders with kustomize, every object (manifests, chart, examples) is
// valid against the Kubernetes schemas (test/support/k8s-validate.ts), and manifests/ is exactly
// the chart rendered with its default values.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { renderChart } from '../support/chart-render';
import { kubernetesModelsInstalled, validateObject } from '../support/k8s-validate';

const ROOT = path.resolve(__dirname, '../../..');
const CHART = path.join(ROOT, 'charts/s3files');

type K8sObject = Record<string, unknown> & { kind: string; metadata: { name: string; namespace?: string } };

function keyOf(o: K8sObject): string {
  return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

function kustomize(): K8sObject[] {
  const out = execFileSync('kubectl', ['kustomize', path.join(ROOT, 'manifests')], { encoding: 'utf8' });
  return yaml.loadAll(out).filter((d): d is K8sObject => d !== null && typeof d === 'object');
}

describe('packaging: chart, manifests/ and examples', function () {
  this.timeout(60_000);
  let rendered: K8sObject[];

  before(() => {
    rendered = kustomize();
  });

  it(`kubectl kustomize manifests/ renders the driver (validator: ${kubernetesModelsInstalled() ? 'kubernetes-models' : 'client-node models'})`, () => {
    const kinds = rendered.map((o) => o.kind).sort();
    for (const kind of ['CSIDriver', 'CustomResourceDefinition', 'DaemonSet', 'Deployment', 'StorageClass', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding']) {
      assert.ok(kinds.includes(kind), `missing ${kind}`);
    }
  });

  it('every object kustomize renders validates against the Kubernetes schemas', () => {
    const errors = rendered.flatMap((o) => validateObject(o).map((e) => `${keyOf(o)}: ${e}`));
    assert.deepEqual(errors, []);
  });

  it('the chart with its default values is exactly manifests/ (run npm run gen:manifests after changing the chart)', () => {
    const chart = renderChart(CHART, { namespace: 's3files' }).objects as K8sObject[];
    const fromManifests = new Map(rendered.filter((o) => o.kind !== 'Namespace').map((o) => [keyOf(o), o]));
    const fromChart = new Map(chart.map((o) => [keyOf(o), o]));
    assert.deepEqual([...fromChart.keys()].sort(), [...fromManifests.keys()].sort());
    for (const [key, obj] of fromChart) assert.deepEqual(fromManifests.get(key), obj, `${key} differs`);
  });

  it('the chart renders valid objects with every option switched on (IRSA annotations, secret, S3 endpoint)', () => {
    const { objects } = renderChart(CHART, {
      namespace: 'storage',
      values: {
        s3: { region: 'eu-west-1', endpoint: 'http://rgw.storage.svc:7480' },
        controller: { serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/s3files' } }, nodeSelector: { 'kubernetes.io/os': 'linux' } },
        storageClass: { isDefault: true, secret: { name: 's3-creds', namespace: 'storage' }, mountOptions: ['noatime'] },
      },
    });
    const all = objects as K8sObject[];
    assert.deepEqual(all.flatMap((o) => validateObject(o).map((e) => `${keyOf(o)}: ${e}`)), []);
    const sc = all.find((o) => o.kind === 'StorageClass') as Record<string, Record<string, string>>;
    assert.equal(sc.parameters?.['csi.storage.k8s.io/node-stage-secret-name'], 's3-creds');
    const sa = all.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === 's3files-controller');
    assert.deepEqual((sa?.metadata as { annotations?: object }).annotations, { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/s3files' });
    const controller = all.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
    assert.ok(controller.spec.template.spec.containers[0]?.args.includes('--s3-endpoint=http://rgw.storage.svc:7480'));
  });

  it('the node plugin is privileged, uses Bidirectional propagation, the host network and a hostPath cache', () => {
    const ds = rendered.find((o) => o.kind === 'DaemonSet') as unknown as { spec: { template: { spec: Record<string, unknown> } } };
    const pod = ds.spec.template.spec as { hostNetwork: boolean; containers: Record<string, unknown>[]; volumes: Record<string, unknown>[] };
    assert.equal(pod.hostNetwork, true);
    const main = pod.containers.find((c) => c.name === 's3files') as { securityContext: { privileged: boolean }; volumeMounts: { name: string; mountPropagation?: string }[]; args: string[] };
    assert.equal(main.securityContext.privileged, true);
    assert.equal(main.volumeMounts.find((m) => m.name === 'kubelet-dir')?.mountPropagation, 'Bidirectional');
    assert.ok(main.args.includes('--nfs-listen=127.0.0.1:20490'));
    assert.deepEqual(pod.volumes.find((v) => v.name === 'cache-dir'), { name: 'cache-dir', hostPath: { path: '/var/lib/s3files', type: 'DirectoryOrCreate' } });
    assert.deepEqual(pod.containers.map((c) => c.name), ['s3files', 'node-driver-registrar', 'liveness-probe']);
  });

  it('the examples validate', () => {
    const dir = path.join(ROOT, 'examples');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      const docs = yaml.loadAll(readFileSync(path.join(dir, file), 'utf8')) as K8sObject[];
      assert.deepEqual(docs.flatMap((o) => validateObject(o).map((e) => `${file} ${keyOf(o)}: ${e}`)), []);
    }
  });

  it('values.yaml satisfies values.schema.json in its required keys and enums', () => {
    const schema = JSON.parse(readFileSync(path.join(CHART, 'values.schema.json'), 'utf8')) as { required: string[]; properties: Record<string, { required?: string[] }> };
    const values = yaml.load(readFileSync(path.join(CHART, 'values.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
    for (const key of schema.required) assert.ok(key in values, `values.yaml lacks ${key}`);
    for (const [key, sub] of Object.entries(schema.properties)) for (const r of sub.required ?? []) assert.ok(r in (values[key] ?? {}), `values.yaml lacks ${key}.${r}`);
    assert.deepEqual(Object.keys(values).filter((k) => !(k in schema.properties)), []);
  });

  it('the validator catches what it claims to (misspelt field, wrong type, unprivileged Bidirectional)', () => {
    const bad = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'x' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: {
          metadata: { labels: { a: 'c' } },
          spec: { containers: [{ name: 'c', image: 'i', volumeMount: [], ports: [{ containerPort: '80' }], volumeMounts: [{ name: 'v', mountPath: '/v', mountPropagation: 'Bidirectional' }] }], volumes: [{ name: 'v', emptyDir: {} }] },
        },
      },
    };
    assert.deepEqual(validateObject(bad), [
      'DaemonSet.spec.template.spec.containers[0].volumeMount: unknown field (not in V1Container)',
      'DaemonSet.spec.template.spec.containers[0].ports[0].containerPort: expected an integer, got "80"',
      'DaemonSet.spec.template.spec.containers[c]: Bidirectional mount propagation needs a privileged container',
      'spec.selector: a=b does not match the pod template labels',
    ]);
  });
});
