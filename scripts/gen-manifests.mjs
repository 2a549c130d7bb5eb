// Renders manifests/ (the `kubectl apply -k manifests/` install) from charts/s3files with
// its default values, by Helm itself: one file per chart template or CRD, a Namespace and a
// kustomization.yaml. `node scripts/gen-manifests.mjs [OUT_DIR]` (default manifests/);
// test/integration/manifests.test.ts renders into a temporary directory and fails when
// manifests/ differs. Helm: .tools/helm/helm (scripts/install-helm.sh), else `helm` on PATH.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const NAMESPACE = 's3files';
const HEADER = '# Generated from charts/s3files with its default values by `npm run gen:manifests`; do not edit.\n';

export function helmBinary() {
  const local = join(root, '.tools', 'helm', 'helm');
  return existsSync(local) ? local : 'helm';
}

/** `helm template` of the chart with its defaults, as { fileName: yaml } by source file. */
export function renderByFile() {
  const out = execFileSync(helmBinary(), ['template', 's3files', join(root, 'charts', 's3files'), '--namespace', NAMESPACE, '--include-crds'], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  const files = new Map();
  for (const doc of out.split(/^---\n/m)) {
    const source = /^# Source: (\S+)\n/m.exec(doc);
    if (!source) continue;
    const body = doc.slice(source.index + source[0].length).trim();
    if (body === '') continue;
    const name = basename(source[1]);
    files.set(name, [...(files.get(name) ?? []), body]);
  }
  const result = {
    'namespace.yaml': `${HEADER}apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${NAMESPACE}\n  labels:\n    app.kubernetes.io/name: s3files\n`,
  };
  for (const [name, docs] of [...files].sort(([a], [b]) => a.localeCompare(b))) result[name] = HEADER + docs.join('\n---\n') + '\n';
  const resources = Object.keys(result).sort((a, b) => (a === 'namespace.yaml' ? -1 : b === 'namespace.yaml' ? 1 : a.localeCompare(b)));
  result['kustomization.yaml'] = `${HEADER}apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${resources.map((r) => `  - ${r}\n`).join('')}`;
  return result;
}

/** Replaces every .yaml file of dir by the rendering. */
export function writeManifests(dir) {
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(dir)) if (name.endsWith('.yaml')) rmSync(join(dir, name));
  for (const [name, text] of Object.entries(renderByFile())) writeFileSync(join(dir, name), text);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeManifests(process.argv[2] ?? join(root, 'manifests'));
