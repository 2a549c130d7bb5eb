// What the two plugin commands build from a KubeSource. The commands load this module only
// when a Kubernetes API exists (config.ts), so @kubernetes/client-node is loaded only then.
import type { Logger } from '../../log/logger';
import { CrdVolumeStore } from '../crd-volume-store';
import type { SyncStatusSource } from '../sync-status';
import type { KubeSource } from './config';
import { KubeEventRecorder } from './events';
import { loadKubeConfig } from './kube-config';
import { S3FileSystemClient } from './s3filesystem-client';
import { PeerRegistry } from './peer-registry';
import { StatusReporter } from './status-reporter';

/** The controller's volume records as S3FileSystem resources. */
export function crdVolumeStore(source: KubeSource): CrdVolumeStore {
  return new CrdVolumeStore(loadKubeConfig(source));
}

/** Starts publishing this node's sync state of every volume into S3FileSystem status. */
export function startStatusReporter(source: KubeSource, nodeId: string, syncStatus: SyncStatusSource, logger: Logger): StatusReporter {
  const kc = loadKubeConfig(source);
  const events = new KubeEventRecorder(kc, { component: 's3files-node', host: nodeId, logger });
  const reporter = new StatusReporter({ client: new S3FileSystemClient(kc), events, nodeId, source: syncStatus, logger });
  reporter.start();
  return reporter;
}

/** The other nodes holding each volume, from its S3FileSystem status (peer-registry.ts). */
export function peerRegistry(source: KubeSource, nodeId: string): PeerRegistry {
  return new PeerRegistry({ client: new S3FileSystemClient(loadKubeConfig(source)), nodeId });
}
