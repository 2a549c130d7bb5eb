// Every key s3files reads from Kubernetes: StorageClass parameters (CreateVolume), volume
// context (returned by CreateVolume, or a static PV's volumeAttributes) and secrets. Parsing
// and validation live here too, so that the controller and the node agree on what a value
// means, and a bad value is an INVALID_ARGUMENT with a message naming the key.
import { parseImportRules, type ImportRule } from '../cache';
import { parseMetadataStyle, type MetadataStyle } from '../reconcile/object-meta';
import { invalidArgument } from './errors';

/** StorageClass `parameters`, passed to CreateVolume. */
export const Param = {
  /** The bucket. Required. */
  bucket: 'bucket',
  /** Dynamic provisioning: each volume gets its own prefix `basePrefix/<pv-name>`. */
  basePrefix: 'basePrefix',
  /** Link an existing prefix (or "" for the whole bucket): every volume of the class shares it. */
  prefix: 'prefix',
  region: 'region',
  /** S3-compatible endpoint URL, e.g. http://rgw.storage.svc:7480. */
  endpoint: 'endpoint',
  forcePathStyle: 'forcePathStyle',
  /** How long a file stays quiet before it is uploaded: "5s", "500ms", "2m". */
  syncDelay: 'syncDelay',
  /** Most bytes of clean data the node keeps cached for one volume: "10Gi". */
  cacheLimit: 'cacheLimit',
  /** Owner and modes of objects that carry no metadata. */
  uid: 'uid',
  gid: 'gid',
  fileMode: 'fileMode',
  dirMode: 'dirMode',
  /**
   * Which small files are imported whole, and when: "PREFIX:SIZE:TRIGGER,…" (e.g.
   * ":128Ki:directory,logs/:0:file"; TRIGGER directory | file). Default: ":128Ki:directory" (as
   * the node's prefetch setting says).
   */
  importRules: 'importRules',
  /** Which object metadata keys carry owner and mode: "s3fs" (default), "s3files" (Amazon S3 Files'), "both". */
  metadataStyle: 'metadataStyle',
  /** An SQS queue URL receiving the bucket's S3 Event Notifications or EventBridge events (docs/freshness.md). */
  eventQueueUrl: 'eventQueueUrl',
  /** "retain" (default) or "delete": whether DeleteVolume removes a dynamic volume's data. */
  onDelete: 'onDelete',
} as const;

/** Volume context keys (Volume.volume_context; static PVs set them as volumeAttributes). */
export const Ctx = {
  bucket: 'bucket',
  prefix: 'prefix',
  region: 'region',
  endpoint: 'endpoint',
  forcePathStyle: 'forcePathStyle',
  syncDelay: 'syncDelay',
  cacheLimit: 'cacheLimit',
  uid: 'uid',
  gid: 'gid',
  fileMode: 'fileMode',
  dirMode: 'dirMode',
  importRules: 'importRules',
  metadataStyle: 'metadataStyle',
  eventQueueUrl: 'eventQueueUrl',
  /** Capacity limit of the file system in bytes (the PVC's request); FSSTAT reports it. */
  capacityBytes: 'capacityBytes',
  /** Publish only this directory of the volume (static PVs). */
  subPath: 'subPath',
} as const;

/** Keys of provisioner and node-stage secrets. Without them the default credential chain is used. */
export const Secret = {
  accessKeyId: 'accessKeyId',
  secretAccessKey: 'secretAccessKey',
  sessionToken: 'sessionToken',
} as const;

export type OnDelete = 'retain' | 'delete';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Where a volume's data lives. `prefix` has no leading or trailing "/"; "" is the whole bucket. */
export interface S3Location {
  bucket: string;
  prefix: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
}

/** Per-volume settings of the node's cache and file system. */
export interface VolumeOptions {
  syncDelayMs?: number;
  cacheLimitBytes?: number;
  uid?: number;
  gid?: number;
  fileMode?: number;
  dirMode?: number;
  metadataStyle?: MetadataStyle;
  eventQueueUrl?: string;
  capacityBytes?: number;
  importRules?: ImportRule[];
}

/** Keys set by Kubernetes components, not by users; they are ignored, never rejected. */
export function isForeignKey(key: string): boolean {
  return key.includes('/');
}

export function parseBucket(value: string | undefined, key: string = Param.bucket): string {
  if (value === undefined || value === '') throw invalidArgument(`parameter ${key} is required`);
  // AWS rules plus upper case and "_", which older buckets and S3-compatible servers allow.
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]{1,253}[a-zA-Z0-9]$/.test(value) || value.includes('..')) {
    throw invalidArgument(`${key} ${JSON.stringify(value)} is not a valid bucket name`);
  }
  return value;
}

/**
 * A key prefix as the user wrote it → canonical form without leading/trailing "/". Refuses
 * "." and ".." segments, empty segments ("a//b"), control characters and backslashes: a
 * prefix must name exactly one place, and never one outside the directory it appears to name.
 */
export function parsePrefix(value: string, key: string): string {
  const trimmed = value.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return '';
  if (/[\u0000-\u001f\u007f\\]/.test(trimmed)) throw invalidArgument(`${key} must not contain control characters or backslashes`);
  if (Buffer.byteLength(trimmed) > 512) throw invalidArgument(`${key} is longer than 512 bytes`);
  for (const segment of trimmed.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw invalidArgument(`${key} ${JSON.stringify(value)} must not contain empty, "." or ".." segments`);
    }
  }
  return trimmed;
}

export function parseRegion(value: string, key: string = Param.region): string {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(value)) throw invalidArgument(`${key} ${JSON.stringify(value)} is not a region name`);
  return value;
}

/** An http(s) URL without credentials, query or fragment; returned without a trailing "/". */
export function parseEndpoint(value: string, key: string = Param.endpoint): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidArgument(`${key} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidArgument(`${key} must be an http or https URL`);
  if (url.username || url.password) throw invalidArgument(`${key} must not contain credentials; use a secret`);
  if (url.search || url.hash) throw invalidArgument(`${key} must not have a query or fragment`);
  return url.toString().replace(/\/+$/, '');
}

export function parseBool(value: string, key: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw invalidArgument(`${key} must be "true" or "false"`);
}

/** "5s", "500ms", "2m", "1h" or plain seconds → milliseconds (at most one day). */
export function parseDuration(value: string, key: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw invalidArgument(`${key} ${JSON.stringify(value)} is not a duration (e.g. 5s, 500ms, 2m)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(Number(m[1]) * unit);
  if (ms > 86_400_000) throw invalidArgument(`${key} must be at most 24h`);
  return ms;
}

const QUANTITY: Record<string, number> = {
  '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40,
};

/** A Kubernetes-style byte quantity: "10Gi", "500M", "1073741824". */
export function parseBytes(value: string, key: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKMGT]i?)?$/.exec(value.trim());
  const unit = m ? QUANTITY[m[2] ?? ''] : undefined;
  if (!m || unit === undefined) throw invalidArgument(`${key} ${JSON.stringify(value)} is not a size (e.g. 10Gi)`);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw invalidArgument(`${key} is too large`);
  return bytes;
}

export function parseId(value: string, key: string): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) > 0xffffffff) throw invalidArgument(`${key} must be a numeric id`);
  return Number(value);
}

/** Octal permission bits: "0644", "755". */
export function parseMode(value: string, key: string): number {
  if (!/^0?[0-7]{3,4}$/.test(value)) throw invalidArgument(`${key} must be octal permission bits such as 0644`);
  const mode = parseInt(value, 8);
  if (mode > 0o7777) throw invalidArgument(`${key} must be at most 07777`);
  return mode;
}

/** Reads the option keys shared by parameters and volume context. */
export function parseVolumeOptions(values: Record<string, string>): VolumeOptions {
  const o: VolumeOptions = {};
  const v = (k: string): string | undefined => (values[k] === undefined || values[k] === '' ? undefined : values[k]);
  if (v(Param.syncDelay) !== undefined) o.syncDelayMs = parseDuration(v(Param.syncDelay) as string, Param.syncDelay);
  if (v(Param.cacheLimit) !== undefined) o.cacheLimitBytes = parseBytes(v(Param.cacheLimit) as string, Param.cacheLimit);
  if (v(Param.uid) !== undefined) o.uid = parseId(v(Param.uid) as string, Param.uid);
  if (v(Param.gid) !== undefined) o.gid = parseId(v(Param.gid) as string, Param.gid);
  if (v(Param.fileMode) !== undefined) o.fileMode = parseMode(v(Param.fileMode) as string, Param.fileMode);
  if (v(Param.dirMode) !== undefined) o.dirMode = parseMode(v(Param.dirMode) as string, Param.dirMode);
  if (v(Param.metadataStyle) !== undefined) {
    const style = parseMetadataStyle(v(Param.metadataStyle) as string);
    if (!style) throw invalidArgument(`${Param.metadataStyle} must be "s3fs", "s3files" or "both"`);
    o.metadataStyle = style;
  }
  if (v(Param.eventQueueUrl) !== undefined) o.eventQueueUrl = parseEndpoint(v(Param.eventQueueUrl) as string, Param.eventQueueUrl);
  if (v(Ctx.capacityBytes) !== undefined) o.capacityBytes = parseBytes(v(Ctx.capacityBytes) as string, Ctx.capacityBytes);
  if (v(Param.importRules) !== undefined) {
    try {
      o.importRules = parseImportRules(v(Param.importRules) as string, Param.importRules);
    } catch (err) {
      throw invalidArgument((err as Error).message);
    }
  }
  return o;
}

/** Credentials from CSI secrets, or undefined for the default chain. Both keys or neither. */
export function parseCredentials(secrets: Record<string, string> | undefined): S3Credentials | undefined {
  const id = secrets?.[Secret.accessKeyId];
  const key = secrets?.[Secret.secretAccessKey];
  if (!id && !key) return undefined;
  if (!id || !key) throw invalidArgument(`secrets must contain both ${Secret.accessKeyId} and ${Secret.secretAccessKey}, or neither`);
  const token = secrets?.[Secret.sessionToken];
  return token ? { accessKeyId: id, secretAccessKey: key, sessionToken: token } : { accessKeyId: id, secretAccessKey: key };
}

/** Secret values of a request, to scrub from errors and logs. */
export function secretValues(secrets: Record<string, string> | undefined): string[] {
  return Object.values(secrets ?? {}).filter((s) => s.length > 0);
}
