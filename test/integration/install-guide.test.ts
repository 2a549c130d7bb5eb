// docs/install-eks.md, run as far as it can be without AWS: its IAM policy grants what the
// code calls, its Helm values pass `helm lint --strict` and render valid objects, its
// `helm install` command works (--dry-run=client), its manifests validate, and the prefix
// and `kubectl get s3filesystems` output it shows are what the code produces.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { ExtraMetadata } from '../../pkg/csi/prefix-pattern';
import { planCreate } from '../../pkg/csi/volume-spec';
import { CHART_DIR, helmBinary, helmLint, helmTemplate, type K8sObject } from '../support/helm';
import { validateObject } from '../support/k8s-validate';
import { REPO_ROOT } from '../support/s3files-server';

const execFileP = promisify(execFile);
const GUIDE = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'install-eks.md'), 'utf8');

interface Block {
  info: string;
  body: string;
}

/** The fenced code blocks of the guide, with their info string (```yaml file=x.yaml). */
function blocks(): Block[] {
  return [...GUIDE.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => ({ info: m[1]!.trim(), body: m[2]! }));
}

function block(info: string): string {
  const found = blocks().filter((b) => b.info === info);
  assert.equal(found.length, 1, `one block ${info} in docs/install-eks.md`);
  return found[0]!.body;
}

interface Statement {
  Action: string | string[];
  Resource: string | string[];
  Condition?: { StringLike?: Record<string, string[]> };
}

const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

describe('docs/install-eks.md, as far as it runs without AWS', function () {
  this.timeout(120_000);
  const values = yaml.load(block('yaml file=s3files-values.yaml')) as { storageClasses: Array<{ bucket: string; basePrefix: string }> };
  const storageClass = values.storageClasses[0]!;

  it('the IAM policy grants what s3files calls, on the volumes prefix and the probe prefix only', () => {
    const policy = JSON.parse(block('json file=s3files-policy.json')) as { Statement: Statement[] };
    const bucketArn = `arn:aws:s3:::${storageClass.bucket}`;
    const grants = (action: string, resource: string) => policy.Statement.some((s) => list(s.Action).includes(action) && list(s.Resource).includes(resource));
    for (const s of policy.Statement) {
      for (const a of list(s.Action)) assert.doesNotMatch(a, /\*/, 'no wildcard actions');
      for (const r of list(s.Resource)) assert.ok(r === bucketArn || r.startsWith(`${bucketArn}/`), `resource ${r} outside the bucket`);
    }
    // The first segment of the StorageClass's basePrefix is what the policy scopes to.
    const top = `${storageClass.basePrefix.split('/')[0]}/`;
    for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload']) assert.ok(grants(action, `${bucketArn}/${top}*`), `${action} on ${top}*`);
    const listing = policy.Statement.find((s) => list(s.Action).includes('s3:ListBucket'));
    assert.deepEqual(listing?.Condition?.StringLike?.['s3:prefix'], [`${top}*`]);
    // The start-up probe writes scratch objects under the store's probe prefix.
    const probePrefix = /probePrefix: cfg\.probePrefix \?\? '([^']+)'/.exec(fs.readFileSync(path.join(REPO_ROOT, 'pkg', 's3', 's3-config.ts'), 'utf8'))?.[1];
    assert.equal(probePrefix, '.s3files-probe/');
    for (const action of ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:AbortMultipartUpload']) assert.ok(grants(action, `${bucketArn}/${probePrefix}*`), `${action} for the probe`);
  });

  it('the values pass helm lint --strict and render valid objects with the roles and the StorageClass', async () => {
    const lint = await helmLint(values);
    assert.doesNotMatch(lint.stdout, /\[(WARNING|ERROR)\]/);
    const objects = await helmTemplate({ values });
    assert.deepEqual(objects.flatMap((o) => validateObject(o).map((e) => `${o.kind}/${o.metadata.name}: ${e}`)), []);
    const accounts = objects.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.annotations?.['eks.amazonaws.com/role-arn']);
    assert.deepEqual(accounts, ['arn:aws:iam::111122223333:role/s3files', 'arn:aws:iam::111122223333:role/s3files-node']);
    const sc = objects.find((o) => o.kind === 'StorageClass') as unknown as { parameters: Record<string, string> };
    assert.deepEqual(sc.parameters, { bucket: storageClass.bucket, basePrefix: storageClass.basePrefix, region: 'eu-west-1' });
  });

  it('its helm install command works as written (--dry-run=client: no cluster here)', async () => {
    const sh = blocks().find((b) => b.info === 'sh' && b.body.includes('helm install'))!.body;
    const command = sh.split('\n').find((l) => l.startsWith('helm install '))!;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3files-guide-'));
    try {
      fs.writeFileSync(path.join(dir, 's3files-values.yaml'), block('yaml file=s3files-values.yaml'));
      const args = command.split(/\s+/).slice(1).map((a) => (a === 'charts/s3files' ? CHART_DIR : a));
      const { stdout } = await execFileP(helmBinary(), [...args, '--dry-run=client'], { cwd: dir, maxBuffer: 32 << 20 });
      assert.match(stdout, /STATUS: pending-install/);
      assert.match(stdout, /kind: DaemonSet/);
      assert.match(stdout, /image: 111122223333\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/s3files:0\.1\.0/);
      assert.match(stdout, /s3files: bucket my-s3files-bucket, one prefix per volume under "volumes\/\$\{\.PVC\.namespace\}\/\$\{\.PVC\.name\}"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('its Secret, PVC and pod validate, and the prefix it lists is the one CreateVolume makes', () => {
    const objects = blocks().filter((b) => b.info === 'yaml kubectl-apply').flatMap((b) => yaml.loadAll(b.body) as K8sObject[]);
    assert.deepEqual(objects.map((o) => o.kind), ['Secret', 'PersistentVolumeClaim', 'Pod']);
    assert.deepEqual(objects.flatMap((o) => validateObject(o).map((e) => `${o.kind}: ${e}`)), []);
    const pvc = objects[1]!;
    const plan = planCreate('pvc-5f3c0c0e', {
      bucket: storageClass.bucket,
      basePrefix: storageClass.basePrefix,
      [ExtraMetadata.pvcName]: pvc.metadata.name,
      [ExtraMetadata.pvcNamespace]: pvc.metadata.namespace!,
      [ExtraMetadata.pvName]: 'pvc-5f3c0c0e',
    });
    assert.ok(GUIDE.includes(`aws s3 ls s3://${storageClass.bucket}/${plan.location.prefix}/\n`), `the guide lists s3://${storageClass.bucket}/${plan.location.prefix}/`);
  });

  it('the kubectl get s3filesystems output it shows has the CRD printer columns', async () => {
    const crd = (await helmTemplate()).find((o) => o.kind === 'CustomResourceDefinition') as unknown as { spec: { versions: Array<{ additionalPrinterColumns: Array<{ name: string }> }> } };
    const header = ['NAME', ...crd.spec.versions[0]!.additionalPrinterColumns.map((c) => c.name.toUpperCase()), 'AGE'];
    const shown = GUIDE.split('\n').find((l) => l.startsWith('NAME '))!.trim().split(/\s+/);
    assert.deepEqual(shown, header);
  });
});
