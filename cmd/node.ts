// `s3files node`: the CSI node plugin (a DaemonSet, privileged, with Bidirectional mount
// propagation). It runs the node's NFS cache server on loopback and mounts its exports with the
// kernel NFS client. On SIGTERM it stops serving gRPC and flushes the exports but leaves every
// mount in place: after an upgrade the new plugin serves the same exports again and the pods'
// hard NFS mounts resume.
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SharedCacheBudget } from '../pkg/cache';
import { UnavailableError } from '../pkg/csi/errors';
import { IdentityServer } from '../pkg/csi/identity';
import { kubeSource } from '../pkg/csi/kube/config';
import { NfsVolumeExports } from '../pkg/csi/nfs-volume-exports';
import { NodeServer } from '../pkg/csi/node';
import { VolumeFreshness } from '../pkg/csi/volume-freshness';
import { CsiServer } from '../pkg/csi/server';
import type { ExportAddress, ExportSpec, VolumeExports, VolumeStats } from '../pkg/csi/volume-exports';
import { logger } from '../pkg/log/logger';
import { startStatusServer } from '../pkg/metrics/status-server';
import { ExecMounter } from '../pkg/mount/exec-mounter';
import { parseBytes, parseDuration, parseListen } from './flags';
import { exposureWarning } from './serve-checks';
import { DEFAULT_SHUTDOWN_TIMEOUT, SHUTDOWN_HELP, shutDown } from './shutdown';
import { DEFAULT_ENDPOINT, KUBE_FLAGS, KUBE_HELP, S3_FLAGS, S3_HELP, s3DefaultsFrom, waitForSignal } from './plugin-common';
import { exportFileStatus } from './status';
import { parseModeFlags } from './mode-flags';

const HELP = `usage: s3files node [flags]

  --endpoint unix:///PATH  the CSI socket (default ${DEFAULT_ENDPOINT}, env CSI_ENDPOINT)
  --node-id ID            this node's name (default env NODE_ID, else the host name)
  --cache-dir DIR         cache of every volume staged on this node (default /var/lib/s3files)
  --nfs-listen HOST:PORT  the NFS cache server (default 127.0.0.1:20490; 2049 is left to a
                          host NFS server)
  --max-volumes N         NodeGetInfo.max_volumes_per_node (default 0: no limit)
  --cache-size SIZE|N%    clean cached file data kept for all volumes of the node together
                          (e.g. 100G, or a share of the cache directory's file system; default
                          50%): above it, clean data is evicted across volumes, least recently
                          used first within each; data not in S3 yet is never evicted
  --unstage-sync-timeout DURATION   how long NodeUnstageVolume waits for the volume's changes
                          to reach S3 (default 60s; kubelet allows the call ~2m). After it,
                          Unstage returns OK and the rest is synced in the background from
                          the node's disk, also after a restart of the plugin
  --status-listen HOST:PORT   HTTP /metrics (per-volume sync metrics, label export=<volume
                          ID>), /status and /status/file for \`s3files status PATH\` (default:
                          off; not authenticated: bind it to loopback or a private address)
  --events-listen HOST:PORT   receive the buckets' change notifications (Ceph RGW topics,
                          MinIO webhooks) and other nodes' notices at POST /events/<export>
                          (default: off). With a Kubernetes API, this node tells the other
                          nodes holding a volume of its uploads and deletes at once
  --events-advertise URL  how other nodes and the S3 server reach that endpoint (default
                          http://$POD_IP:PORT)
  --events-token T        shared token required on the endpoint and sent to peers (default
                          env S3FILES_EVENTS_TOKEN; required unless the endpoint is on loopback)
${SHUTDOWN_HELP}
${S3_HELP}
${KUBE_HELP}
  --log-level LEVEL       error, warn, info (default) or debug

Each volume is linked to its bucket/prefix (credentials from node-stage secrets, else the
SDK's default chain: IRSA, EKS Pod Identity, instance role); credentials are never logged.
With a Kubernetes API, the node reports each volume's sync state (dirty bytes, last sync,
errors) in its S3FileSystem status and posts Events when syncing fails and on conflicts.`;

/**
 * The node service is registered before the NFS server is up (grpc-js cannot add services to a
 * running server), so it talks to the exports through this: UNAVAILABLE until they are ready,
 * while Probe reports ready=false.
 */
class PendingVolumeExports implements VolumeExports {
  target?: VolumeExports;
  ready(): boolean {
    return this.target?.ready() ?? false;
  }
  ensureExport(spec: ExportSpec): Promise<ExportAddress> {
    return this.get().ensureExport(spec);
  }
  releaseExport(volumeId: string): Promise<void> {
    return this.get().releaseExport(volumeId);
  }
  stats(volumeId: string): Promise<VolumeStats | undefined> {
    return this.get().stats(volumeId);
  }
  private get(): VolumeExports {
    if (!this.target) throw new UnavailableError('the NFS cache server is still starting');
    return this.target;
  }
}

export async function nodeCommand(argv: string[]): Promise<number> {
  const values = parseModeFlags(
    argv,
    {
      endpoint: { type: 'string', default: process.env.CSI_ENDPOINT ?? DEFAULT_ENDPOINT },
      'node-id': { type: 'string', default: process.env.NODE_ID ?? os.hostname() },
      'cache-dir': { type: 'string', default: '/var/lib/s3files' },
      'nfs-listen': { type: 'string', default: '127.0.0.1:20490' },
      'max-volumes': { type: 'string', default: '0' },
      'cache-size': { type: 'string', default: '50%' },
      'unstage-sync-timeout': { type: 'string', default: '60s' },
      'status-listen': { type: 'string' },
      'events-listen': { type: 'string' },
      'events-advertise': { type: 'string' },
      'events-token': { type: 'string' },
      'shutdown-timeout': { type: 'string', default: DEFAULT_SHUTDOWN_TIMEOUT },
      ...S3_FLAGS,
      ...KUBE_FLAGS,
    },
    HELP,
  );
  if (!values) return 0;
  const log = logger('csi-node');
  const { host, port } = parseListen(values['nfs-listen'], '--nfs-listen');
  const maxVolumes = Number(values['max-volumes']);
  if (!Number.isInteger(maxVolumes) || maxVolumes < 0) throw new Error('--max-volumes must be a non-negative integer');
  const s3Defaults = s3DefaultsFrom(values);
  const unstageSyncTimeoutMs = parseDuration(values['unstage-sync-timeout'], '--unstage-sync-timeout');
  const shutdownTimeoutMs = parseDuration(values['shutdown-timeout'], '--shutdown-timeout');
  const statusListen = values['status-listen'] ? parseListen(values['status-listen'], '--status-listen') : undefined;
  const cacheBudget = await nodeCacheBudget(values['cache-size'], path.resolve(values['cache-dir']));
  log.info('node cache size (clean data of all volumes together)', { bytes: cacheBudget.totalBytes });

  // Volumes are exported without squashing: beyond loopback any host could act as root on them.
  const exposed = exposureWarning(host, { rootSquash: false, allSquash: false });
  if (exposed) log.warn(exposed);

  const pending = new PendingVolumeExports();
  const server = new CsiServer(logger('csi'))
    .addIdentity(new IdentityServer({ ready: () => pending.ready() }))
    .addNode(new NodeServer({ nodeId: values['node-id'], mounter: new ExecMounter(), exports: pending, maxVolumesPerNode: maxVolumes, logger: log }));
  await server.listen(values.endpoint);
  const kube = kubeSource(values.kubeconfig);
  const freshness = await startFreshness(values, kube, values['node-id']);
  const exports = await NfsVolumeExports.start({ cacheDir: path.resolve(values['cache-dir']), host, port, s3Defaults, unstageSyncTimeoutMs, link: { cacheBudget }, freshness, logger: logger('csi-exports') });
  pending.target = exports;
  const status = statusListen
    ? await startStatusServer(statusListen.host, statusListen.port, {
        status: () => ({ volumes: exports.describe(), ...(freshness ? { events: freshness.status() } : {}) }),
        fileStatus: (exp, p) => exportFileStatus(exports.linkedExport(exp), p),
      })
    : undefined;
  if (status) log.info('status endpoint', { address: status.address.address, port: status.address.port });
  // Loaded only with an API to talk to: @kubernetes/client-node takes a while to load.
  const reporter = kube ? (await import('../pkg/csi/kube/wiring.js')).startStatusReporter(kube, values['node-id'], exports, logger('kube-status')) : undefined;
  if (!kube) log.info('no Kubernetes API (not in a cluster, no --kubeconfig): volume status is not reported');

  const signal = await waitForSignal();
  log.info('shutting down; mounts stay in place', { signal, timeoutMs: shutdownTimeoutMs });
  const finished = await shutDown(
    [
      ...(reporter ? [{ name: 'status reporter', run: () => reporter.stop() }] : []),
      ...(status ? [{ name: 'status endpoint', run: () => status.close() }] : []),
      { name: 'CSI socket', run: () => server.close() },
      // NFS port first, then running uploads (queued ones stay on disk), then the caches.
      { name: 'exports', run: () => exports.close(), pending: () => ({ volumes: exports.describe() }) },
      ...(freshness ? [{ name: 'events endpoint', run: () => freshness.close() }] : []),
    ],
    { log, timeoutMs: shutdownTimeoutMs },
  );
  return finished ? 0 : 1;
}

/** --cache-size: bytes, or a percentage of the file system that holds (or will hold) the cache directory. */
export async function nodeCacheBudget(value: string, cacheDir: string): Promise<SharedCacheBudget> {
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(value.trim());
  if (!pct) {
    try {
      return new SharedCacheBudget(parseBytes(value));
    } catch (err) {
      throw new Error(`--cache-size: ${(err as Error).message}, or a percentage such as 50%`);
    }
  }
  const share = Number(pct[1]);
  if (share <= 0 || share > 100) throw new Error(`--cache-size must be a percentage from 0 to 100, got ${value}`);
  let dir = cacheDir;
  while (!existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const fsStat = await statfs(dir);
  return new SharedCacheBudget(Math.floor((fsStat.blocks * fsStat.bsize * share) / 100));
}

/** --events-listen: the node's events endpoint, with peers from the Kubernetes API when there is one. */
async function startFreshness(
  values: { 'events-listen'?: string; 'events-advertise'?: string; 'events-token'?: string },
  kube: ReturnType<typeof kubeSource>,
  nodeId: string,
): Promise<VolumeFreshness | undefined> {
  if (!values['events-listen']) return undefined;
  const listen = parseListen(values['events-listen'], '--events-listen');
  const advertise = values['events-advertise'] ?? (process.env.POD_IP ? `http://${process.env.POD_IP}:${listen.port}` : undefined);
  if (!advertise) throw new Error('--events-listen needs --events-advertise (or the POD_IP environment variable)');
  const registry = kube ? (await import('../pkg/csi/kube/wiring.js')).peerRegistry(kube, nodeId) : undefined;
  return VolumeFreshness.start({
    listen,
    advertise,
    token: values['events-token'] ?? process.env.S3FILES_EVENTS_TOKEN,
    peersOf: registry ? (id) => registry.peersOf(id) : undefined,
    log: logger('events'),
  });
}
