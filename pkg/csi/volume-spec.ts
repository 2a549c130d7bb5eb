// What a volume is, worked out from what the CO sends: StorageClass parameters for
// CreateVolume (planCreate), volume ID + volume context for the node calls (planStage). Both
// validate everything and throw INVALID_ARGUMENT naming the offending key.
import { invalidArgument } from './errors';
import {
  Ctx,
  isForeignKey,
  parseBool,
  parseBucket,
  parseEndpoint,
  parsePrefix,
  parseRegion,
  parseVolumeOptions,
  Param,
  type OnDelete,
  type S3Location,
  type VolumeOptions,
} from './params';
import { parseVolumeId, type VolumeHandle } from './volume-id';

export interface CreatePlan {
  location: S3Location;
  /** True when the volume gets its own new prefix (dynamic provisioning). */
  dynamic: boolean;
  onDelete: OnDelete;
  options: VolumeOptions;
}

const PARAM_KEYS = new Set<string>(Object.values(Param));
const CONTEXT_KEYS = new Set<string>(Object.values(Ctx));

function rejectUnknown(values: Record<string, string>, known: Set<string>, what: string): void {
  for (const key of Object.keys(values)) {
    if (!known.has(key) && !isForeignKey(key)) throw invalidArgument(`unknown ${what} ${JSON.stringify(key)}`);
  }
}

/**
 * StorageClass parameters → the volume to create. `name` is the CO's volume name (the PV name
 * for Kubernetes); with `basePrefix` (or neither `basePrefix` nor `prefix`) it becomes the last
 * segment of the volume's own prefix.
 */
export function planCreate(name: string, params: Record<string, string>): CreatePlan {
  rejectUnknown(params, PARAM_KEYS, 'parameter');
  const bucket = parseBucket(params[Param.bucket]);
  const linked = params[Param.prefix] !== undefined;
  if (linked && params[Param.basePrefix] !== undefined) {
    throw invalidArgument(`parameters ${Param.prefix} and ${Param.basePrefix} exclude each other`);
  }
  const onDelete = params[Param.onDelete] ?? 'retain';
  if (onDelete !== 'retain' && onDelete !== 'delete') throw invalidArgument(`${Param.onDelete} must be "retain" or "delete"`);
  if (linked && onDelete === 'delete') {
    throw invalidArgument(`${Param.onDelete}=delete is refused for a linked ${Param.prefix}: s3files never deletes data it did not create`);
  }
  let prefix: string;
  if (linked) {
    prefix = parsePrefix(params[Param.prefix] as string, Param.prefix);
  } else {
    if (name.includes('/') || name === '.' || name === '..') throw invalidArgument(`name ${JSON.stringify(name)} cannot be a prefix segment`);
    const base = parsePrefix(params[Param.basePrefix] ?? '', Param.basePrefix);
    prefix = parsePrefix(base === '' ? name : `${base}/${name}`, 'volume prefix');
  }
  return {
    location: locationFrom(bucket, prefix, params),
    dynamic: !linked,
    onDelete,
    options: parseVolumeOptions(params),
  };
}

function locationFrom(bucket: string, prefix: string, values: Record<string, string>): S3Location {
  const loc: S3Location = { bucket, prefix };
  if (values[Param.region]) loc.region = parseRegion(values[Param.region] as string);
  if (values[Param.endpoint]) loc.endpoint = parseEndpoint(values[Param.endpoint] as string);
  if (values[Param.forcePathStyle]) loc.forcePathStyle = parseBool(values[Param.forcePathStyle] as string, Param.forcePathStyle);
  return loc;
}

/** The volume context CreateVolume returns: deterministic, no secrets, every value a string. */
export function volumeContextFor(plan: CreatePlan, capacityBytes: number): Record<string, string> {
  const { location: l, options: o } = plan;
  const ctx: Record<string, string> = { [Ctx.bucket]: l.bucket, [Ctx.prefix]: l.prefix };
  if (l.region) ctx[Ctx.region] = l.region;
  if (l.endpoint) ctx[Ctx.endpoint] = l.endpoint;
  if (l.forcePathStyle !== undefined) ctx[Ctx.forcePathStyle] = String(l.forcePathStyle);
  if (o.syncDelayMs !== undefined) ctx[Ctx.syncDelay] = `${o.syncDelayMs}ms`;
  if (o.cacheLimitBytes !== undefined) ctx[Ctx.cacheLimit] = String(o.cacheLimitBytes);
  if (o.uid !== undefined) ctx[Ctx.uid] = String(o.uid);
  if (o.gid !== undefined) ctx[Ctx.gid] = String(o.gid);
  if (o.fileMode !== undefined) ctx[Ctx.fileMode] = `0${o.fileMode.toString(8)}`;
  if (o.dirMode !== undefined) ctx[Ctx.dirMode] = `0${o.dirMode.toString(8)}`;
  if (o.importRules !== undefined) ctx[Ctx.importRules] = o.importRules.map((r) => `${r.prefix}:${r.sizeLessThan}:${r.trigger}`).join(',');
  if (o.metadataStyle !== undefined) ctx[Ctx.metadataStyle] = o.metadataStyle;
  if (o.eventQueueUrl !== undefined) ctx[Ctx.eventQueueUrl] = o.eventQueueUrl;
  if (capacityBytes > 0) ctx[Ctx.capacityBytes] = String(capacityBytes);
  return ctx;
}

export interface StagePlan {
  handle: VolumeHandle;
  location: S3Location;
  options: VolumeOptions;
  /** Directory inside the volume to publish; "" for its root. */
  subPath: string;
}

/**
 * Volume ID + volume context → what to export. The ID is authoritative for bucket and prefix
 * (context values that disagree are refused); region and endpoint come from the ID, else the
 * context (static PVs), else the node's defaults (applied by the caller).
 */
export function planStage(volumeId: string, context: Record<string, string>): StagePlan {
  const handle = parseVolumeId(volumeId);
  rejectUnknown(context, CONTEXT_KEYS, 'volume context key');
  if (context[Ctx.bucket] !== undefined && context[Ctx.bucket] !== handle.bucket) {
    throw invalidArgument(`volume context ${Ctx.bucket} does not match volume_id`);
  }
  if (context[Ctx.prefix] !== undefined && parsePrefix(context[Ctx.prefix] as string, Ctx.prefix) !== handle.prefix) {
    throw invalidArgument(`volume context ${Ctx.prefix} does not match volume_id`);
  }
  const location = locationFrom(handle.bucket, handle.prefix, context);
  if (handle.region) location.region = handle.region;
  if (handle.endpoint) location.endpoint = handle.endpoint;
  return {
    handle,
    location,
    options: parseVolumeOptions(context),
    subPath: parsePrefix(context[Ctx.subPath] ?? '', Ctx.subPath),
  };
}
