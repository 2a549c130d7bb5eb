// Flags and helpers shared by the two CSI plugin modes (`s3files controller`, `s3files node`).
import type { S3Defaults } from '../pkg/csi/bucket-access';
import { parseBool, parseEndpoint, parseRegion } from '../pkg/csi/params';
import { logger } from '../pkg/log/logger';

export const DEFAULT_ENDPOINT = 'unix:///csi/csi.sock';

/** parseArgs options for the S3 defaults both plugins accept. */
export const S3_FLAGS = {
  's3-region': { type: 'string' },
  's3-endpoint': { type: 'string' },
  's3-force-path-style': { type: 'string' },
} as const;

/** --kubeconfig: where the Kubernetes API is when not running in a cluster. */
export const KUBE_FLAGS = {
  kubeconfig: { type: 'string' },
} as const;

export const KUBE_HELP = `  --kubeconfig FILE       the Kubernetes API to use outside a cluster (in a pod: the service
                          account); without either, no S3FileSystem records are kept`;

export const S3_HELP = `  --s3-region REGION      default region for volumes that name none (env AWS_REGION)
  --s3-endpoint URL       default S3-compatible endpoint for volumes that name none
  --s3-force-path-style true|false   path-style addressing (default: true with --s3-endpoint)`;

export function s3DefaultsFrom(values: { 's3-region'?: string; 's3-endpoint'?: string; 's3-force-path-style'?: string }): S3Defaults {
  const region = values['s3-region'] ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  const d: S3Defaults = {};
  if (region) d.region = parseRegion(region, '--s3-region');
  if (values['s3-endpoint']) d.endpoint = parseEndpoint(values['s3-endpoint'], '--s3-endpoint');
  if (values['s3-force-path-style']) d.forcePathStyle = parseBool(values['s3-force-path-style'], '--s3-force-path-style');
  return d;
}

/**
 * The parent when this module was loaded: a start can take seconds (checks, opening the
 * store), and npm may be killed meanwhile; the parent seen later would already be PID 1.
 */
const parentAtStart = process.ppid;

/**
 * Resolves on SIGTERM or SIGINT. Started by npm (`npx s3files serve`), also when the npm
 * process goes away: npm runs us under `sh -c`, and a kill of npm kills that shell but not us,
 * which would leave the server running under PID 1, holding its port. A change of parent is
 * how we see it (there is no portable parent-death signal in Node); outside npm a change of
 * parent means nothing (nohup, a shell that exits), so it is ignored.
 */
export function waitForSignal(orphanCheckMs = 500): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const parent = parentAtStart;
    const byNpm = process.env.npm_command !== undefined;
    const watch = byNpm ? setInterval(() => process.ppid !== parent && done('SIGTERM'), orphanCheckMs) : undefined;
    watch?.unref();
    const onSignal = (sig: NodeJS.Signals): void => done(sig);
    function done(sig: NodeJS.Signals): void {
      if (watch) clearInterval(watch);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      if (process.ppid !== parent) logger('s3files').warn('the npm process that started s3files is gone: shutting down', { parentPid: parent });
      resolve(sig);
    }
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    if (byNpm && process.ppid !== parent) done('SIGTERM'); // npm went away while we were starting
  });
}
