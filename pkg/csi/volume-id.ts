// Volume IDs. CreateVolume returns a deterministic, versioned ID that carries everything
// DeleteVolume and the node need and that no other call hands them (DeleteVolume gets only
// the ID and secrets):
//
//   v1:<bucket>:<prefix>:<onDelete>:<region>:<endpoint>
//
// Fields are separated by ":" and escaped ("%" → %25, ":" → %3A); trailing empty fields are
// left out. A new field is only ever appended (never inserted, never reordered), so an ID
// written by an older version still parses; a change that cannot be expressed that way gets a
// new version prefix.
//
// A static PV (volumeHandle written by a person) names "bucket" or "bucket/prefix" (an
// "s3://" in front is allowed). Bucket names cannot contain ":", so the two forms cannot be
// confused. Static volumes are never deleted by s3files.
import { createHash } from 'node:crypto';
import { invalidArgument } from './errors';
import { parseBucket, parseEndpoint, parsePrefix, parseRegion, type OnDelete } from './params';

export const VOLUME_ID_VERSION = 'v1';

// Field order of v1. Adding a new element should always go at the end.
const V1_FIELDS = ['bucket', 'prefix', 'onDelete', 'region', 'endpoint'] as const;

export interface VolumeHandle {
  bucket: string;
  prefix: string;
  onDelete: OnDelete;
  region?: string;
  endpoint?: string;
  /** True for a handle written by a person (static provisioning). */
  static: boolean;
}

function escapeField(s: string): string {
  return s.replace(/%/g, '%25').replace(/:/g, '%3A');
}

function unescapeField(s: string): string {
  return s.replace(/%3A/gi, ':').replace(/%25/g, '%');
}

export function encodeVolumeId(h: Omit<VolumeHandle, 'static'>): string {
  const values: Record<(typeof V1_FIELDS)[number], string> = {
    bucket: h.bucket,
    prefix: h.prefix,
    onDelete: h.onDelete === 'delete' ? 'delete' : '',
    region: h.region ?? '',
    endpoint: h.endpoint ?? '',
  };
  const fields = V1_FIELDS.map((f) => escapeField(values[f]));
  while (fields.length > 1 && fields[fields.length - 1] === '') fields.pop();
  return [VOLUME_ID_VERSION, ...fields].join(':');
}

/** Parses either ID form; throws INVALID_ARGUMENT for anything else. */
export function parseVolumeId(id: string): VolumeHandle {
  if (id === '') throw invalidArgument('volume_id is empty');
  if (Buffer.byteLength(id) > 2048) throw invalidArgument('volume_id is longer than 2048 bytes');
  const version = /^v(\d+):/.exec(id);
  if (!version) return parseStaticHandle(id);
  if (version[0] !== `${VOLUME_ID_VERSION}:`) throw invalidArgument(`volume_id has unknown version ${JSON.stringify(version[0])}`);
  const raw = id.slice(version[0].length).split(':').map(unescapeField);
  const field = (name: (typeof V1_FIELDS)[number]): string => raw[V1_FIELDS.indexOf(name)] ?? '';
  const onDelete = field('onDelete');
  if (onDelete !== '' && onDelete !== 'delete') throw invalidArgument(`volume_id has unknown onDelete ${JSON.stringify(onDelete)}`);
  const prefix = parsePrefix(field('prefix'), 'volume_id prefix');
  // Never delete a whole bucket, whatever the ID says.
  if (onDelete === 'delete' && prefix === '') throw invalidArgument('volume_id asks to delete the data of a whole bucket');
  return {
    bucket: parseBucket(field('bucket'), 'volume_id bucket'),
    prefix,
    onDelete: onDelete === 'delete' ? 'delete' : 'retain',
    ...(field('region') ? { region: parseRegion(field('region'), 'volume_id region') } : {}),
    ...(field('endpoint') ? { endpoint: parseEndpoint(field('endpoint'), 'volume_id endpoint') } : {}),
    static: false,
  };
}

function parseStaticHandle(id: string): VolumeHandle {
  const rest = id.startsWith('s3://') ? id.slice('s3://'.length) : id;
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1);
  return {
    bucket: parseBucket(bucket, 'volume_id bucket'),
    prefix: parsePrefix(prefix, 'volume_id prefix'),
    onDelete: 'retain',
    static: true,
  };
}

/**
 * The NFS export name of a volume on the node: derived from the ID (stable across restarts of
 * the node plugin, so kernel mounts keep working), short, and free of characters NFS export
 * paths refuse.
 */
export function exportNameFor(volumeId: string): string {
  return `v-${createHash('sha256').update(volumeId).digest('hex').slice(0, 32)}`;
}
