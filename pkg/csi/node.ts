// CSI Node service. NodeStageVolume has the node's NFS cache server export the volume and
// mounts that export with the kernel NFS client at the staging path; NodePublishVolume
// bind-mounts the staging path (or a subPath of it) into the pod's target path. All four
// calls are idempotent and safe when the mount they would undo is already gone.
import { lstat, mkdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { logger as makeLogger, type Logger } from '../log/logger';
import { findMount, isReadOnly, NotMountedError, type Mounter } from '../mount/mounter';
import type { MountInfo } from '../mount/mountinfo';
import { checkCapability } from './capabilities';
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from './errors';
import type { NodeGetCapabilitiesResponse } from './generated/csi/v1/NodeGetCapabilitiesResponse';
import type { NodeGetInfoResponse } from './generated/csi/v1/NodeGetInfoResponse';
import type { NodeGetVolumeStatsRequest__Output } from './generated/csi/v1/NodeGetVolumeStatsRequest';
import type { NodeGetVolumeStatsResponse } from './generated/csi/v1/NodeGetVolumeStatsResponse';
import type { NodePublishVolumeRequest__Output } from './generated/csi/v1/NodePublishVolumeRequest';
import type { NodeStageVolumeRequest__Output } from './generated/csi/v1/NodeStageVolumeRequest';
import type { NodeUnpublishVolumeRequest__Output } from './generated/csi/v1/NodeUnpublishVolumeRequest';
import type { NodeUnstageVolumeRequest__Output } from './generated/csi/v1/NodeUnstageVolumeRequest';
import { VolumeLocks } from './locks';
import { parseCredentials } from './params';
import type { VolumeExports } from './volume-exports';
import { exportNameFor } from './volume-id';
import { planStage } from './volume-spec';

export interface NodeOptions {
  nodeId: string;
  mounter: Mounter;
  exports: VolumeExports;
  locks?: VolumeLocks;
  logger?: Logger;
  /** NodeGetInfo.max_volumes_per_node; 0 = no limit. */
  maxVolumesPerNode?: number;
}

/** Options s3files sets on every NFS mount (DESIGN.md decision 1); users may not override them. */
const FIXED_NFS_OPTIONS = ['vers', 'nfsvers', 'proto', 'port', 'mountport', 'mountproto', 'local_lock', 'lock', 'nolock', 'addr', 'mountaddr'];

/**
 * DESIGN.md's option set plus `nolock`. mount.nfs (nfs-utils 2.x) refuses an NFSv3 mount
 * unless rpc.statd runs or `nolock` is given -- it checks only lock/nolock, not local_lock --
 * and the node plugin's container runs no statd (our server has no NLM to talk to anyway).
 * For NFSv3, `nolock` means exactly what local_lock=all asks for: POSIX and flock locks are
 * handled by the node's kernel, node-wide; `local_lock=all` stays to say so explicitly.
 * `lock` is refused from users: it would make the kernel try NLM, which s3files does not serve.
 */
export function nfsMountOptions(port: number, userFlags: string[]): string[] {
  return ['vers=3', 'proto=tcp', `port=${port}`, `mountport=${port}`, 'mountproto=tcp', 'local_lock=all', 'nolock', 'hard', ...userFlags];
}

/** The PV's mountOptions (mount_flags), minus empty ones; refuses those s3files must control. */
export function userMountFlags(flags: string[] | undefined): string[] {
  const out: string[] = [];
  for (const raw of flags ?? []) {
    for (const flag of raw.split(',').map((f) => f.trim()).filter(Boolean)) {
      const key = flag.split('=')[0] as string;
      if (FIXED_NFS_OPTIONS.includes(key)) throw invalidArgument(`mount option ${key} is set by s3files and cannot be overridden`);
      out.push(flag);
    }
  }
  return out;
}

function requirePath(value: string, field: string): string {
  if (!value) throw invalidArgument(`missing ${field}`);
  if (!path.isAbsolute(value)) throw invalidArgument(`${field} must be an absolute path`);
  return path.normalize(value).replace(/(.)\/+$/, '$1');
}

export class NodeServer {
  private readonly mounter: Mounter;
  private readonly exports: VolumeExports;
  private readonly locks: VolumeLocks;
  private readonly log: Logger;

  constructor(private readonly options: NodeOptions) {
    this.mounter = options.mounter;
    this.exports = options.exports;
    this.locks = options.locks ?? new VolumeLocks();
    this.log = options.logger ?? makeLogger('csi-node');
  }

  /**
   * 1. validate; 2. under the volume's lock, have the NFS server export the volume (linked to
   * its bucket/prefix, with the node-stage secrets or the default chain); 3. mount the export
   * at the staging path. A repeat finds the export and the mount in place and succeeds; a
   * staging path mounted from something else is ALREADY_EXISTS.
   */
  async NodeStageVolume(req: NodeStageVolumeRequest__Output): Promise<object> {
    if (!req.volume_id) throw invalidArgument('missing volume_id');
    const staging = requirePath(req.staging_target_path, 'staging_target_path');
    checkCapability(req.volume_capability);
    const flags = userMountFlags(req.volume_capability?.mount?.mount_flags);
    const plan = planStage(req.volume_id, req.volume_context);
    const credentials = parseCredentials(req.secrets);
    return this.locks.run(`volume:${req.volume_id}`, async () => {
      const address = await this.exports.ensureExport({ volumeId: req.volume_id, location: plan.location, options: plan.options, credentials });
      const source = `${address.host}:${address.path}`;
      const existing = findMount(await this.mounter.list(), staging);
      if (existing) {
        if (existing.source === source && existing.fstype.startsWith('nfs')) return {};
        throw alreadyExists(`${staging} is already mounted from ${existing.source}`);
      }
      await mkdir(staging, { recursive: true });
      await this.mounter.mount(source, staging, 'nfs', nfsMountOptions(address.port, flags));
      this.log.info('volume staged', { volumeId: req.volume_id, staging, source });
      return {};
    });
  }

  /**
   * Unmounts the staging path (the kernel flushes its dirty pages to the server), then
   * releases the export, which returns once dirty data is in S3, or after the node's
   * --unstage-sync-timeout with the rest safe on the node's disk and synced in the background
   * (OK either way: see nfs-volume-exports.ts). Refused (FAILED_PRECONDITION) while pods still
   * have the volume bind-mounted.
   */
  async NodeUnstageVolume(req: NodeUnstageVolumeRequest__Output): Promise<object> {
    if (!req.volume_id) throw invalidArgument('missing volume_id');
    const staging = requirePath(req.staging_target_path, 'staging_target_path');
    return this.locks.run(`volume:${req.volume_id}`, async () => {
      const mounts = await this.mounter.list();
      const staged = findMount(mounts, staging);
      if (staged) {
        const users = mounts.filter((m) => m.target !== staging && m.device === staged.device && m.source === staged.source);
        if (users.length > 0) throw failedPrecondition(`volume is still published at ${users.map((m) => m.target).join(', ')}`);
        await this.unmountIfMounted(staging);
      }
      await this.exports.releaseExport(req.volume_id);
      this.log.info('volume unstaged', { volumeId: req.volume_id, staging });
      return {};
    });
  }

  /**
   * Bind-mounts the staging path (or its subPath) at the target path, read-only when asked.
   * A repeat with the same source succeeds; a target mounted from elsewhere (or with the other
   * read-only setting) is ALREADY_EXISTS.
   */
  async NodePublishVolume(req: NodePublishVolumeRequest__Output): Promise<object> {
    if (!req.volume_id) throw invalidArgument('missing volume_id');
    const target = requirePath(req.target_path, 'target_path');
    // Every INVALID_ARGUMENT check comes before the FAILED_PRECONDITION of a missing staging
    // path: a request missing a required field is malformed whatever else it lacks (CSI spec).
    checkCapability(req.volume_capability);
    const plan = planStage(req.volume_id, req.volume_context);
    if (!req.staging_target_path) throw failedPrecondition('staging_target_path is not set, but the plugin has STAGE_UNSTAGE_VOLUME');
    const staging = requirePath(req.staging_target_path, 'staging_target_path');
    const mode = req.volume_capability?.access_mode?.mode;
    const readOnly = req.readonly || mode === 'SINGLE_NODE_READER_ONLY' || mode === 'MULTI_NODE_READER_ONLY';
    return this.locks.run(`publish:${req.volume_id}:${target}`, async () => {
      const mounts = await this.mounter.list();
      const staged = findMount(mounts, staging);
      if (!staged) throw failedPrecondition(`volume ${req.volume_id} is not staged at ${staging}`);
      const existing = findMount(mounts, target);
      if (existing) {
        if (sameBind(existing, staged, plan.subPath, readOnly)) return {};
        throw alreadyExists(`${target} is already mounted from another source or with other options`);
      }
      const source = plan.subPath ? path.join(staging, plan.subPath) : staging;
      if (plan.subPath) await mkdir(source, { recursive: true });
      await mkdir(target, { recursive: true });
      await this.mounter.mount(source, target, '', readOnly ? ['bind', 'ro'] : ['bind']);
      this.log.info('volume published', { volumeId: req.volume_id, target, readOnly, subPath: plan.subPath });
      return {};
    });
  }

  /** Unmounts the target if mounted and removes the directory; succeeds if both are gone. */
  async NodeUnpublishVolume(req: NodeUnpublishVolumeRequest__Output): Promise<object> {
    if (!req.volume_id) throw invalidArgument('missing volume_id');
    const target = requirePath(req.target_path, 'target_path');
    return this.locks.run(`publish:${req.volume_id}:${target}`, async () => {
      await this.unmountIfMounted(target);
      try {
        await rmdir(target); // never a recursive delete: after the unmount it must be empty
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY') throw failedPrecondition(`${target} is not empty after unmounting`);
        if (code !== 'ENOENT') throw err;
      }
      return {};
    });
  }

  async NodeGetVolumeStats(req: NodeGetVolumeStatsRequest__Output): Promise<NodeGetVolumeStatsResponse> {
    if (!req.volume_id) throw invalidArgument('missing volume_id');
    if (!req.volume_path) throw invalidArgument('missing volume_path');
    // A path the volume cannot be at (relative, absent, or where the volume is not mounted) is
    // NOT_FOUND, as the CSI spec has it: "volume does not exist on the specified volume_path".
    if (!path.isAbsolute(req.volume_path)) throw notFound(`volume_path ${req.volume_path} is not an absolute path, so no volume is mounted there`);
    const volumePath = path.normalize(req.volume_path).replace(/(.)\/+$/, '$1');
    if (!(await lstat(volumePath).catch(() => undefined))) throw notFound(`volume_path ${volumePath} does not exist`);
    const stats = await this.exports.stats(req.volume_id);
    if (!stats) throw notFound(`volume ${req.volume_id} is not staged on this node`);
    const mounted = findMount(await this.mounter.list(), volumePath);
    if (!mounted || !isVolumeMount(mounted, req.volume_id)) throw notFound(`volume ${req.volume_id} is not mounted at ${volumePath}`);
    return {
      usage: [
        { unit: 'BYTES', total: stats.totalBytes, used: stats.usedBytes, available: stats.availableBytes },
        { unit: 'INODES', total: stats.totalInodes, used: stats.usedInodes, available: stats.freeInodes },
      ],
    };
  }

  async NodeGetCapabilities(): Promise<NodeGetCapabilitiesResponse> {
    return { capabilities: [{ rpc: { type: 'STAGE_UNSTAGE_VOLUME' } }, { rpc: { type: 'GET_VOLUME_STATS' } }] };
  }

  async NodeGetInfo(): Promise<NodeGetInfoResponse> {
    return { node_id: this.options.nodeId, max_volumes_per_node: this.options.maxVolumesPerNode ?? 0 };
  }

  private async unmountIfMounted(target: string): Promise<void> {
    if (!(await this.mounter.isMountPoint(target))) return;
    try {
      await this.mounter.unmount(target);
    } catch (err) {
      if (!(err instanceof NotMountedError)) throw err;
    }
  }
}

/** Whether a mount (the staging NFS mount, or a bind of it) serves this volume's export. */
function isVolumeMount(m: MountInfo, volumeId: string): boolean {
  return m.source.endsWith(`:/${exportNameFor(volumeId)}`);
}

/** Whether an existing mount is the bind this publish would make. */
function sameBind(existing: MountInfo, staged: MountInfo, subPath: string, readOnly: boolean): boolean {
  const root = path.posix.join(staged.root, '/', subPath);
  return existing.device === staged.device && existing.source === staged.source && existing.root === root && isReadOnly(existing) === readOnly;
}
