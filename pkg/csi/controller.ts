// CSI Controller service: CreateVolume links a bucket/prefix (a new per-volume prefix under
// basePrefix, or an existing prefix), DeleteVolume removes a dynamic volume's data only when
// its StorageClass said onDelete=delete. No attach step exists (no ControllerPublish): any
// node can reach S3.
import { logger as makeLogger, type Logger } from '../log/logger';
import type { BucketAccess } from './bucket-access';
import { checkCapabilities, unsupportedReason } from './capabilities';
import { alreadyExists, CsiError, failedPrecondition, invalidArgument, NotFoundError, notFound, outOfRange } from './errors';
import type { CapacityRange__Output } from './generated/csi/v1/CapacityRange';
import type { ControllerGetCapabilitiesResponse } from './generated/csi/v1/ControllerGetCapabilitiesResponse';
import type { CreateVolumeRequest__Output } from './generated/csi/v1/CreateVolumeRequest';
import type { CreateVolumeResponse } from './generated/csi/v1/CreateVolumeResponse';
import type { DeleteVolumeRequest__Output } from './generated/csi/v1/DeleteVolumeRequest';
import type { DeleteVolumeResponse } from './generated/csi/v1/DeleteVolumeResponse';
import type { ValidateVolumeCapabilitiesRequest__Output } from './generated/csi/v1/ValidateVolumeCapabilitiesRequest';
import type { ValidateVolumeCapabilitiesResponse } from './generated/csi/v1/ValidateVolumeCapabilitiesResponse';
import { VolumeLocks } from './locks';
import { parseCredentials } from './params';
import { encodeVolumeId, parseVolumeId, type VolumeHandle } from './volume-id';
import { planCreate, volumeContextFor } from './volume-spec';
import type { VolumeStore } from './volume-store';

export interface ControllerOptions {
  bucketAccess: BucketAccess;
  store: VolumeStore;
  locks?: VolumeLocks;
  logger?: Logger;
}

/** CSI's banned characters in names: control characters other than common whitespace. */
const BANNED_NAME_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/** CapacityRange → the capacity to give the volume (0 = unlimited). */
export function capacityFrom(range: CapacityRange__Output | null | undefined): number {
  if (!range) return 0;
  const required = Number(range.required_bytes);
  const limit = Number(range.limit_bytes);
  if (required < 0 || limit < 0) throw outOfRange('capacity_range must not be negative');
  if (limit > 0 && required > limit) throw outOfRange('capacity_range.required_bytes exceeds limit_bytes');
  return required > 0 ? required : limit;
}

export class ControllerServer {
  private readonly access: BucketAccess;
  private readonly store: VolumeStore;
  private readonly locks: VolumeLocks;
  private readonly log: Logger;

  constructor(options: ControllerOptions) {
    this.access = options.bucketAccess;
    this.store = options.store;
    this.locks = options.locks ?? new VolumeLocks();
    this.log = options.logger ?? makeLogger('csi-controller');
  }

  /**
   * 1. validate name, capabilities, capacity and parameters (INVALID_ARGUMENT / OUT_OF_RANGE);
   * 2. under the name's lock (ABORTED if another call holds it), look the name up: the same
   *    request again returns the same volume, a different one is ALREADY_EXISTS;
   * 3. check the bucket with the provisioner secrets or the default chain;
   * 4. create the prefix marker; record the volume; return its deterministic ID.
   * A repeat after a crash between 3 and 4 redoes 3–4 and returns the same ID.
   */
  async CreateVolume(req: CreateVolumeRequest__Output): Promise<CreateVolumeResponse> {
    if (!req.name) throw invalidArgument('missing name');
    if (BANNED_NAME_CHARS.test(req.name)) throw invalidArgument('name contains control characters');
    checkCapabilities(req.volume_capabilities);
    if (req.volume_content_source) throw invalidArgument('volume_content_source is not supported (no snapshots or clones)');
    const capacityBytes = capacityFrom(req.capacity_range);
    const plan = planCreate(req.name, req.parameters);
    const credentials = parseCredentials(req.secrets);
    const volumeId = encodeVolumeId({ ...plan.location, onDelete: plan.onDelete });
    const volumeContext = volumeContextFor(plan, capacityBytes);

    return this.locks.run(`name:${req.name}`, async () => {
      const known = await this.store.get(req.name);
      if (known) {
        if (known.volumeId !== volumeId || known.capacityBytes !== capacityBytes || !sameContext(known.volumeContext, volumeContext)) {
          throw alreadyExists(`volume ${req.name} already exists with different parameters or capacity`);
        }
        return { volume: { volume_id: volumeId, capacity_bytes: capacityBytes, volume_context: volumeContext } };
      }
      try {
        await this.access.checkAccess(plan.location, credentials);
        await this.access.ensurePrefix(plan.location, credentials);
      } catch (err) {
        if (err instanceof NotFoundError) throw failedPrecondition(err.message);
        throw err;
      }
      await this.store.put({ name: req.name, volumeId, capacityBytes, volumeContext });
      this.log.info('volume created', { name: req.name, volumeId, dynamic: plan.dynamic, onDelete: plan.onDelete });
      return { volume: { volume_id: volumeId, capacity_bytes: capacityBytes, volume_context: volumeContext } };
    });
  }

  /**
   * Deletes the data under a dynamic volume's prefix when its StorageClass said onDelete=delete
   * (the ID records it), never for linked prefixes or static volumes. Unknown or malformed IDs
   * and volumes whose data is already gone succeed, as the spec requires; a repeat is a no-op.
   */
  async DeleteVolume(req: DeleteVolumeRequest__Output): Promise<DeleteVolumeResponse> {
    if (!req.volume_id) throw invalidArgument('missing volume_id');
    let handle: VolumeHandle;
    try {
      handle = parseVolumeId(req.volume_id);
    } catch (err) {
      if (!(err instanceof CsiError)) throw err;
      this.log.warn('DeleteVolume of an ID s3files did not make: nothing to do', { volumeId: req.volume_id, reason: err.message });
      return {};
    }
    const credentials = parseCredentials(req.secrets);
    return this.locks.run(`volume:${req.volume_id}`, async () => {
      if (handle.onDelete === 'delete' && !handle.static) {
        try {
          await this.access.deletePrefix(handle, credentials);
          this.log.info('volume data deleted', { volumeId: req.volume_id });
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err; // the bucket is gone: so is the data
        }
      }
      await this.store.deleteByVolumeId(req.volume_id);
      return {};
    });
  }

  /** NOT_FOUND for an unknown volume; otherwise confirms file-system capabilities, refuses block. */
  async ValidateVolumeCapabilities(req: ValidateVolumeCapabilitiesRequest__Output): Promise<ValidateVolumeCapabilitiesResponse> {
    if (!req.volume_id) throw invalidArgument('missing volume_id');
    if (!req.volume_capabilities || req.volume_capabilities.length === 0) throw invalidArgument('missing volume_capabilities');
    let handle: VolumeHandle;
    try {
      handle = parseVolumeId(req.volume_id);
    } catch {
      throw notFound(`volume ${req.volume_id} does not exist`);
    }
    const credentials = parseCredentials(req.secrets);
    try {
      await this.access.checkAccess(handle, credentials);
      if (!handle.static && !(await this.access.prefixExists(handle, credentials))) throw new NotFoundError('prefix gone');
    } catch (err) {
      if (err instanceof NotFoundError) throw notFound(`volume ${req.volume_id} does not exist`);
      throw err;
    }
    for (const cap of req.volume_capabilities) {
      const reason = unsupportedReason(cap);
      if (reason) return { message: reason };
    }
    return {
      confirmed: {
        volume_capabilities: req.volume_capabilities,
        volume_context: req.volume_context,
        parameters: req.parameters,
        mutable_parameters: {},
      },
    };
  }

  async ControllerGetCapabilities(): Promise<ControllerGetCapabilitiesResponse> {
    return { capabilities: [{ rpc: { type: 'CREATE_DELETE_VOLUME' } }] };
  }
}

function sameContext(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}
