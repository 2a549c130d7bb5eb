// Flags and helpers shared by the two CSI plugin modes (`s3files controller`, `s3files node`).
import type { S3Defaults } from '../pkg/csi/bucket-access';
import { parseBool, parseEndpoint, parseRegion } from '../pkg/csi/params';

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

export function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(sig);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
