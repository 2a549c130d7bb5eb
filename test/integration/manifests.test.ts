// Packaging, checked by the real Helm (test/support/helm.ts): the chart passes
// `helm lint --strict` and renders objects valid against the Kubernetes schemas
// (test/support/k8s-validate.ts) with its default values and with every option set; bad
// values fail with a clear message; manifests/ is exactly what `npm run gen:manifests` makes
// from the chart; kustomize renders manifests/; the examples validate.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { CHART_DIR, helmInstallNotes, helmLint, helmTemplate, type K8sObject } from '../support/helm';
import { kubernetesModelsInstalled, validateObject } from '../support/k8s-validate';
import { REPO_ROOT } from '../support/s3files-server';

type PodSpec = Record<string, unknown> & { containers: Array<{ name: string; args?: string[]; resources?: object; ports?: Array<{ name: string; containerPort: number }> }>; affinity?: unknown; imagePullSecrets?: unknown; priorityClassName?: string; serviceAccountName: string };

const keyOf = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const invalid = (objects: K8sObject[]) => objects.flatMap((o) => validateObject(o).map((e) => `${keyOf(o)}: ${e}`));
const podSpec = (objects: K8sObject[], kind: 'Deployment' | 'DaemonSet') => (objects.find((o) => o.kind === kind) as unknown as { spec: { template: { metadata: { annotations?: object }; spec: PodSpec } } }).spec.template;
const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);

/** Every option of values.yaml switched away from its default. */
const FULL_VALUES = {
  image: { repository: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/s3files', tag: '0.1.0-test', pullPolicy: 'Always' },
  imagePullSecrets: [{ name: 'regcred' }],
  s3: { region: 'eu-west-1', endpoint: 'http://rgw.storage.svc:7480' },
  controller: {
    replicas: 2,
    serviceAccount: { create: true, name: 's3files-controller', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/s3files' } },
    priorityClassName: 'high',
    podAnnotations: { 'example.com/team': 'storage' },
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'storage', effect: 'NoSchedule' }],
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['system'] }] }] } } },
    extraArgs: ['--log-level=debug'],
  },
  node: {
    serviceAccount: { create: false, name: 'existing-node-sa' },
    statusListen: '0.0.0.0:9811',
    podAnnotations: { 'example.com/scrape': 'yes' },
    extraArgs: ['--unstage-sync-timeout=90s'],
  },
  sidecars: { provisioner: { image: 'registry.k8s.io/sig-storage/csi-provisioner:v5.2.0', resources: { requests: { cpu: '20m', memory: '48Mi' } } } },
  storageClasses: [
    { name: 's3files', bucket: 'team-bucket', basePrefix: 'volumes/${.PVC.namespace}/${.PVC.name}', region: 'eu-west-1', isDefault: true, secret: { name: 's3-creds' }, mountOptions: ['noatime'], parameters: { syncDelay: '5s', onDelete: 'delete' } },
    { name: 's3files-shared', bucket: 'team-bucket', prefix: 'shared/media', reclaimPolicy: 'Retain', volumeBindingMode: 'WaitForFirstConsumer', secret: { name: 'other', namespace: 'creds' } },
  ],
  metrics: { podMonitor: { enabled: true, interval: '15s', labels: { release: 'prom' } }, grafanaDashboard: { enabled: true } },
};

describe('packaging: the chart through real Helm, manifests/ and examples', function () {
  this.timeout(120_000);
  let defaults: K8sObject[];
  let full: K8sObject[];

  before(async () => {
    defaults = await helmTemplate();
    full = await helmTemplate({ namespace: 'storage', values: FULL_VALUES });
  });

  it('helm lint --strict passes with the default values and with every option set', async () => {
    const plain = await helmLint();
    assert.match(plain.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    assert.doesNotMatch(plain.stdout, /\[(WARNING|ERROR)\]/);
    const all = await helmLint(FULL_VALUES);
    assert.doesNotMatch(all.stdout, /\[(WARNING|ERROR)\]/);
  });

  it('the default rendering is the driver, valid against the Kubernetes schemas, and creates no StorageClass', () => {
    const kinds = [...new Set(defaults.map((o) => o.kind))].sort();
    assert.deepEqual(kinds, ['CSIDriver', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'DaemonSet', 'Deployment', 'Role', 'RoleBinding', 'ServiceAccount']);
    assert.deepEqual(invalid(defaults), []);
    for (const kind of ['Deployment', 'DaemonSet'] as const) {
      const { spec } = podSpec(defaults, kind);
      assert.deepEqual(spec.affinity, { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'eks.amazonaws.com/compute-type', operator: 'NotIn', values: ['fargate'] }] }] } } }, `${kind} kept off Fargate`);
      assert.equal(spec.imagePullSecrets, undefined);
    }
    assert.equal(podSpec(defaults, 'DaemonSet').spec.priorityClassName, 'system-node-critical');
    assert.equal(podSpec(defaults, 'Deployment').spec.priorityClassName, 'system-cluster-critical');
  });

  it(`every option set renders valid objects that carry the options (validator: ${kubernetesModelsInstalled() ? 'kubernetes-models' : 'client-node models'})`, () => {
    const builtIn = full.filter((o) => o.kind !== 'PodMonitor');
    assert.deepEqual(invalid(builtIn), []);
    const controller = podSpec(full, 'Deployment');
    const node = podSpec(full, 'DaemonSet');
    for (const pod of [controller, node]) assert.deepEqual(pod.spec.imagePullSecrets, [{ name: 'regcred' }]);
    assert.deepEqual(controller.spec.affinity, FULL_VALUES.controller.affinity);
    assert.equal(controller.spec.priorityClassName, 'high');
    assert.deepEqual(controller.metadata.annotations, { 'example.com/team': 'storage' });
    assert.deepEqual(node.metadata.annotations, { 'example.com/scrape': 'yes' });
    const main = controller.spec.containers.find((c) => c.name === 's3files')!;
    assert.ok(main.args!.includes('--s3-endpoint=http://rgw.storage.svc:7480'));
    assert.equal(main.args!.at(-1), '--log-level=debug');
    // Helm merges maps: the new requests, the default limits.
    assert.deepEqual(controller.spec.containers.find((c) => c.name === 'csi-provisioner')!.resources, { requests: { cpu: '20m', memory: '48Mi' }, limits: { memory: '128Mi' } });
    const nodeMain = node.spec.containers.find((c) => c.name === 's3files')!;
    assert.equal(nodeMain.args!.at(-1), '--unstage-sync-timeout=90s');
    assert.ok(nodeMain.args!.includes('--status-listen=0.0.0.0:9811'));
    assert.deepEqual(nodeMain.ports!.find((p) => p.name === 'metrics'), { name: 'metrics', containerPort: 9811, protocol: 'TCP' });
    // serviceAccount.create=false: the node's account is not made, but the pod and RBAC use it.
    assert.deepEqual(ofKind(full, 'ServiceAccount').map((o) => o.metadata.name), ['s3files-controller']);
    assert.equal(node.spec.serviceAccountName, 'existing-node-sa');
    const sa = ofKind(full, 'ServiceAccount')[0]!;
    assert.deepEqual(sa.metadata.annotations, { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/s3files' });
    const nodeBinding = ofKind(full, 'ClusterRoleBinding').find((o) => o.metadata.name === 's3files-node') as unknown as { subjects: Array<{ name: string; namespace: string }> };
    assert.deepEqual(nodeBinding.subjects.map((s) => `${s.namespace}/${s.name}`), ['storage/existing-node-sa']);
  });

  it('storageClasses: one StorageClass per entry, the secret namespace defaulting to the release namespace', () => {
    const classes = ofKind(full, 'StorageClass') as unknown as Array<K8sObject & { parameters: Record<string, string>; reclaimPolicy: string; volumeBindingMode: string; mountOptions?: string[] }>;
    assert.deepEqual(classes.map((c) => c.metadata.name), ['s3files', 's3files-shared']);
    const [perVolume, shared] = classes as [typeof classes[0], typeof classes[0]];
    assert.deepEqual(perVolume.parameters, {
      bucket: 'team-bucket',
      basePrefix: 'volumes/${.PVC.namespace}/${.PVC.name}',
      region: 'eu-west-1',
      syncDelay: '5s',
      onDelete: 'delete',
      'csi.storage.k8s.io/provisioner-secret-name': 's3-creds',
      'csi.storage.k8s.io/provisioner-secret-namespace': 'storage',
      'csi.storage.k8s.io/node-stage-secret-name': 's3-creds',
      'csi.storage.k8s.io/node-stage-secret-namespace': 'storage',
    });
    assert.equal(perVolume.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'], 'true');
    assert.deepEqual(perVolume.mountOptions, ['noatime']);
    assert.equal(shared.parameters.prefix, 'shared/media');
    assert.equal(shared.parameters.basePrefix, undefined);
    assert.equal(shared.parameters['csi.storage.k8s.io/node-stage-secret-namespace'], 'creds');
    assert.equal(shared.reclaimPolicy, 'Retain');
    assert.equal(shared.volumeBindingMode, 'WaitForFirstConsumer');
  });

  it('metrics: a PodMonitor on the metrics port, and a Grafana dashboard that plots only metrics the node exports', () => {
    const [monitor] = ofKind(full, 'PodMonitor') as unknown as Array<K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: Array<Record<string, string>> } }>;
    assert.ok(monitor);
    assert.equal(monitor.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(monitor.metadata.labels?.release, 'prom');
    assert.deepEqual(monitor.spec.podMetricsEndpoints, [{ port: 'metrics', path: '/metrics', interval: '15s' }]);
    const nodeLabels = (full.find((o) => o.kind === 'DaemonSet') as unknown as { spec: { template: { metadata: { labels: Record<string, string> } } } }).spec.template.metadata.labels;
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) assert.equal(nodeLabels[k], v);
    const [configMap] = ofKind(full, 'ConfigMap') as unknown as Array<K8sObject & { data: Record<string, string> }>;
    assert.equal(configMap?.metadata.labels?.grafana_dashboard, '1');
    const dashboard = JSON.parse(configMap!.data['s3files-sync.json']!) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    const used = new Set(exprs.flatMap((e) => e.match(/s3files_[a-z_]+/g) ?? []));
    const exported = fs.readFileSync(path.join(REPO_ROOT, 'pkg', 'metrics', 'sync-metrics.ts'), 'utf8');
    assert.ok(used.size >= 8, [...used].join(' '));
    for (const name of used) assert.match(exported, new RegExp(`'${name}'`), `the dashboard plots ${name}, which pkg/metrics does not export`);
  });

  it('bad values fail the install with a clear message', async () => {
    await assert.rejects(helmTemplate({ values: { storageClasses: [{ name: 'x' }] } }), /storageClasses\/0.*missing property 'bucket'/s);
    await assert.rejects(helmTemplate({ values: { storageClasses: [{ name: 'x', bucket: 'b', prefix: 'p', basePrefix: 'q' }] } }), /storageClasses\/0/);
    await assert.rejects(helmTemplate({ values: { metrics: { podMonitor: { enabled: true } } } }), /metrics\.podMonitor\.enabled needs node\.statusListen/);
    await assert.rejects(helmTemplate({ values: { controller: { extraArgs: ['rm -rf'] } } }), /extraArgs/);
    await assert.rejects(helmTemplate({ values: { imagePullSecret: [{ name: 'x' }] } }), /additional properties 'imagePullSecret' not allowed/);
  });

  it('helm install (dry run) prints NOTES: how to check the pods, claim a volume, or name a bucket', async () => {
    const none = await helmInstallNotes();
    assert.match(none, /kubectl -n s3files get pods -l app\.kubernetes\.io\/name=s3files/);
    assert.match(none, /No StorageClass was created/);
    assert.match(none, /--set 'storageClasses\[0\]\.bucket=MY-BUCKET'/);
    const some = await helmInstallNotes({ namespace: 'storage', values: { storageClasses: FULL_VALUES.storageClasses } });
    assert.match(some, /s3files: bucket team-bucket, one prefix per volume under "volumes\/\$\{\.PVC\.namespace\}\/\$\{\.PVC\.name\}"/);
    assert.match(some, /s3files-shared: bucket team-bucket, prefix "shared\/media"/);
    assert.match(some, /storageClassName: s3files\n/);
    assert.match(some, /kubectl get s3filesystems/);
  });

  it('manifests/ is exactly the chart rendered by npm run gen:manifests (run it after changing the chart)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3files-manifests-'));
    try {
      execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'gen-manifests.mjs'), dir]);
      const committed = fs.readdirSync(path.join(REPO_ROOT, 'manifests')).sort();
      assert.deepEqual(committed, fs.readdirSync(dir).sort());
      for (const name of committed) {
        assert.equal(fs.readFileSync(path.join(REPO_ROOT, 'manifests', name), 'utf8'), fs.readFileSync(path.join(dir, name), 'utf8'), `manifests/${name} is stale: npm run gen:manifests`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kubectl kustomize manifests/ renders the default chart objects plus the namespace', () => {
    const out = execFileSync('kubectl', ['kustomize', path.join(REPO_ROOT, 'manifests')], { encoding: 'utf8' });
    const objects = yaml.loadAll(out).filter((d): d is K8sObject => d !== null && typeof d === 'object');
    assert.deepEqual(objects.map(keyOf).sort(), ['Namespace//s3files', ...defaults.map(keyOf)].sort());
    assert.deepEqual(invalid(objects), []);
  });

  it('kubectl get s3filesystems shows phase, dirty bytes and last sync: the status fields the nodes write', () => {
    const crd = defaults.find((o) => o.kind === 'CustomResourceDefinition') as unknown as { spec: { versions: Array<{ additionalPrinterColumns: Array<{ name: string; jsonPath: string }> }> } };
    const columns = Object.fromEntries(crd.spec.versions[0]!.additionalPrinterColumns.map((c) => [c.name, c.jsonPath]));
    assert.deepEqual(columns, { Phase: '.status.phase', Bucket: '.spec.bucket', Prefix: '.spec.prefix', Dirty: '.status.dirtyBytes', 'Last-Sync': '.status.lastSync' });
    const reporter = fs.readFileSync(path.join(REPO_ROOT, 'pkg', 'csi', 'kube', 'status-reporter.ts'), 'utf8');
    assert.match(reporter, /return \{ phase, dirtyBytes, lastSync, nodes: sorted \}/);
  });

  it('the examples validate', () => {
    const dir = path.join(REPO_ROOT, 'examples');
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      const docs = yaml.loadAll(fs.readFileSync(path.join(dir, file), 'utf8')) as K8sObject[];
      assert.deepEqual(docs.flatMap((o) => validateObject(o).map((e) => `${file} ${keyOf(o)}: ${e}`)), []);
    }
  });

  it('the chart has a README and its values file documents every top-level key', () => {
    const values = yaml.load(fs.readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    const readme = fs.readFileSync(path.join(CHART_DIR, 'README.md'), 'utf8');
    for (const key of Object.keys(values)) assert.match(readme, new RegExp(`\`${key}`), `charts/s3files/README.md does not mention ${key}`);
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
