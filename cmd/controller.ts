// `s3files controller`: the CSI controller plugin (a Deployment beside csi-provisioner and
// livenessprobe). It links buckets/prefixes to volumes; it never touches file data except to
// delete a dynamic volume's prefix when its StorageClass says onDelete=delete.
import { S3BucketAccess } from '../pkg/csi/bucket-access';
import { ControllerServer } from '../pkg/csi/controller';
import { IdentityServer } from '../pkg/csi/identity';
import { CsiServer } from '../pkg/csi/server';
import { kubeSource } from '../pkg/csi/kube/config';
import { MemoryVolumeStore, type VolumeStore } from '../pkg/csi/volume-store';
import { logger } from '../pkg/log/logger';
import { S3Store } from '../pkg/s3/s3-store';
import { DEFAULT_ENDPOINT, KUBE_FLAGS, KUBE_HELP, S3_FLAGS, S3_HELP, s3DefaultsFrom, waitForSignal } from './plugin-common';
import { parseModeFlags } from './mode-flags';

const HELP = `usage: s3files controller [flags]

  --endpoint unix:///PATH  the CSI socket (default ${DEFAULT_ENDPOINT}, env CSI_ENDPOINT)
${S3_HELP}
${KUBE_HELP}
  --log-level LEVEL       error, warn, info (default) or debug

Volume records (for CreateVolume's idempotency across restarts) are S3FileSystem resources
when a Kubernetes API is available, else kept in memory.

Credentials for S3: the provisioner secret of the StorageClass (accessKeyId, secretAccessKey,
sessionToken), else the SDK default chain (IRSA, EKS Pod Identity, instance role, env).`;

export async function controllerCommand(argv: string[]): Promise<number> {
  const values = parseModeFlags(
    argv,
    {
      endpoint: { type: 'string', default: process.env.CSI_ENDPOINT ?? DEFAULT_ENDPOINT },
      ...S3_FLAGS,
      ...KUBE_FLAGS,
    },
    HELP,
  );
  if (!values) return 0;
  const log = logger('csi-controller');
  const bucketAccess = new S3BucketAccess((config) => {
    const store = new S3Store(config);
    return { store, close: () => store.client.destroy() };
  }, s3DefaultsFrom(values));
  const server = new CsiServer(logger('csi'))
    .addIdentity(new IdentityServer({ ready: () => true }))
    .addController(new ControllerServer({ bucketAccess, store: await volumeStore(values.kubeconfig), logger: log }));
  await server.listen(values.endpoint);

  const signal = await waitForSignal();
  log.info('shutting down', { signal });
  await server.close();
  return 0;
}

/** S3FileSystem resources when a Kubernetes API is there; else memory (one process only). */
async function volumeStore(kubeconfig: string | undefined): Promise<VolumeStore> {
  const log = logger('csi-controller');
  const source = kubeSource(kubeconfig);
  if (!source) {
    log.warn('no Kubernetes API (not in a cluster, no --kubeconfig): volume records are kept in memory only');
    return new MemoryVolumeStore();
  }
  const { crdVolumeStore } = await import('../pkg/csi/kube/wiring.js');
  log.info('volume records are S3FileSystem resources', { inCluster: source.inCluster });
  return crdVolumeStore(source);
}
