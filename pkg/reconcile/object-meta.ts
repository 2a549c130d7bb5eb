// POSIX attributes in object user metadata, as DESIGN.md decision 3 fixes them: written in
// s3fs's form (x-amz-meta-mode = decimal st_mode with the type bits, uid, gid, mtime = epoch
// seconds), read in every form the common tools write:
//   s3fs      mode "33188", mtime "1700000000"
//   rclone    mtime "2023-11-14T22:13:20.123456789Z" (RFC 3339) or "1700000000.123456789",
//             mode as octal ("100644") with --metadata
//   s3cmd     s3cmd-attrs "mode:33188/uid:0/gid:0/mtime:1700000000/..."
//   S3 Files  file-owner "1000", file-group "1000", file-permissions "0100644" (octal st_mode
//             with the type bits; Amazon S3 Files, FSx for Lustre, File Cache), and — FSx for
//             Lustre / File Cache — file-mtime "1700000000123456789ns" (ns; without "ns": ms)
// Which set is written is the export's MetadataStyle: "s3fs" (default), "s3files", or "both".
// When an object carries several, each attribute is taken from the first set that has a
// readable value, in this order: the style the export writes (for "both": S3 Files' keys
// first), then the other of s3fs / S3 Files, then s3cmd-attrs. So an export reads back first
// what it writes itself, and a key a tool left behind never overrides the one the export keeps
// current.
import type { RemoteType } from '../cache';
import type { Timestamp } from '../vfs';

/**
 * User metadata key carrying the writer's token (cache, inode, generation), so that an upload
 * whose record a crash lost is recognised as our own (not a conflict) when the reconciler runs
 * again.
 */
export const UPLOAD_TOKEN = 's3files-upload';

const S_IFMT = 0o170000;
const TYPE_BITS: Record<RemoteType, number> = {
  fifo: 0o010000,
  char: 0o020000,
  dir: 0o040000,
  block: 0o060000,
  file: 0o100000,
  symlink: 0o120000,
  socket: 0o140000,
};
const TYPE_OF = new Map<number, RemoteType>(Object.entries(TYPE_BITS).map(([t, bits]) => [bits, t as RemoteType]));

/** Which metadata keys an export writes (all of them are read). */
export type MetadataStyle = 's3fs' | 's3files' | 'both';
export const METADATA_STYLES: readonly MetadataStyle[] = ['s3fs', 's3files', 'both'];

/** A MetadataStyle from a flag or parameter value; undefined if it is not one. */
export function parseMetadataStyle(value: string): MetadataStyle | undefined {
  return (METADATA_STYLES as readonly string[]).includes(value) ? (value as MetadataStyle) : undefined;
}

/** S3 Files' keys (without x-amz-meta-). */
export const S3FILES_KEYS = { owner: 'file-owner', group: 'file-group', permissions: 'file-permissions', mtime: 'file-mtime' } as const;

export interface PosixAttributes {
  type: RemoteType;
  mode: number;
  uid: number;
  gid: number;
  mtime: Timestamp;
}

export interface DecodedAttributes {
  type?: RemoteType;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Timestamp;
}

/**
 * User metadata (keys without x-amz-meta-) for an object holding a file of these attributes,
 * in the export's style: s3fs's keys (decimal st_mode, mtime in epoch seconds), S3 Files' keys
 * (octal st_mode with a leading 0 and the type bits, as S3 Files writes "0100644"; mtime in
 * FSx for Lustre's form, nanoseconds with "ns"), or both.
 */
export function encodeMetadata(a: PosixAttributes, style: MetadataStyle = 's3fs'): Record<string, string> {
  const stMode = TYPE_BITS[a.type] | (a.mode & 0o7777);
  const s3fs = { mode: String(stMode), uid: String(a.uid), gid: String(a.gid), mtime: String(a.mtime.sec) };
  if (style === 's3fs') return s3fs;
  const s3files = {
    [S3FILES_KEYS.owner]: String(a.uid),
    [S3FILES_KEYS.group]: String(a.gid),
    [S3FILES_KEYS.permissions]: `0${stMode.toString(8).padStart(6, '0')}`,
    [S3FILES_KEYS.mtime]: `${(BigInt(a.mtime.sec) * 1_000_000_000n + BigInt(a.mtime.nsec)).toString()}ns`,
  };
  return style === 's3files' ? s3files : { ...s3fs, ...s3files };
}

/** st_mode from metadata: decimal (s3fs) or octal (rclone, "0644"). Undefined if unreadable. */
export function parseMode(value: string | undefined): { type?: RemoteType; mode: number } | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  let n: number;
  if (/^0[0-7]*$/.test(v)) n = parseInt(v, 8);
  else if (/^\d+$/.test(v)) {
    const dec = Number(v);
    // s3fs writes st_mode in decimal, type bits included; a bare "644" or a value too large to
    // be a 16-bit st_mode is octal (rclone writes "100644").
    if (dec > 0o7777 && dec <= 0o177777 && (dec & S_IFMT) !== 0 && TYPE_OF.has(dec & S_IFMT)) n = dec;
    else if (/^[0-7]+$/.test(v)) n = parseInt(v, 8);
    else n = dec;
  } else return undefined;
  if (!Number.isSafeInteger(n) || n < 0 || n > 0o177777) return undefined;
  return { type: TYPE_OF.get(n & S_IFMT), mode: n & 0o7777 };
}

function parseId(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  const n = Number(value.trim());
  return n <= 0xffffffff ? n : undefined;
}

/** Epoch seconds (integer or fractional) or RFC 3339, to the nanosecond. */
export function parseTime(value: string | undefined): Timestamp | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  const num = /^(\d+)(?:\.(\d{1,9})\d*)?$/.exec(v);
  if (num) return { sec: Number(num[1]), nsec: num[2] ? Number(num[2].padEnd(9, '0')) : 0 };
  const iso = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9})\d*)?(Z|[+-]\d\d:\d\d)$/i.exec(v);
  if (!iso) return undefined;
  const ms = Date.parse(`${iso[1]}${iso[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return { sec: Math.floor(ms / 1000), nsec: iso[2] ? Number(iso[2].padEnd(9, '0')) : 0 };
}

/** s3cmd keeps everything in one "s3cmd-attrs" value: "k:v/k:v/…". */
function s3cmdAttrs(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (value ?? '').split('/')) {
    const i = part.indexOf(':');
    if (i > 0) out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

/** FSx for Lustre / File Cache: "<n>ns" is nanoseconds, a bare number milliseconds. */
export function parseFileMtime(value: string | undefined): Timestamp | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,30})(ns)?$/.exec(value.trim());
  if (!m) return undefined;
  const ns = m[2] ? BigInt(m[1]!) : BigInt(m[1]!) * 1_000_000n;
  const sec = ns / 1_000_000_000n;
  if (sec > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { sec: Number(sec), nsec: Number(ns % 1_000_000_000n) };
}

interface RawAttributes {
  mode?: string;
  uid?: string;
  gid?: string;
  mtime?: string;
  /** How this set writes mtime. */
  time: (v: string | undefined) => Timestamp | undefined;
}

/**
 * Attributes from user metadata, each from the first set (see the precedence at the top) that
 * has a readable value. `style` is the export's MetadataStyle.
 */
export function decodeMetadata(meta: Record<string, string>, style: MetadataStyle = 's3fs'): DecodedAttributes {
  const s3cmd = s3cmdAttrs(meta['s3cmd-attrs']);
  const s3fsSet: RawAttributes = { mode: meta.mode, uid: meta.uid, gid: meta.gid, mtime: meta.mtime, time: parseTime };
  const s3filesSet: RawAttributes = {
    mode: meta[S3FILES_KEYS.permissions], uid: meta[S3FILES_KEYS.owner], gid: meta[S3FILES_KEYS.group], mtime: meta[S3FILES_KEYS.mtime], time: parseFileMtime,
  };
  const s3cmdSet: RawAttributes = { mode: s3cmd.mode, uid: s3cmd.uid, gid: s3cmd.gid, mtime: s3cmd.mtime, time: parseTime };
  const sets = style === 's3fs' ? [s3fsSet, s3filesSet, s3cmdSet] : [s3filesSet, s3fsSet, s3cmdSet];
  const first = <T>(read: (s: RawAttributes) => T | undefined): T | undefined => {
    for (const set of sets) {
      const v = read(set);
      if (v !== undefined) return v;
    }
    return undefined;
  };
  const out: DecodedAttributes = {};
  const mode = first((s) => parseMode(s.mode));
  if (mode) {
    out.mode = mode.mode;
    if (mode.type) out.type = mode.type;
  }
  const uid = first((s) => parseId(s.uid));
  const gid = first((s) => parseId(s.gid));
  const mtime = first((s) => s.time(s.mtime));
  if (uid !== undefined) out.uid = uid;
  if (gid !== undefined) out.gid = gid;
  if (mtime) out.mtime = mtime;
  return out;
}

export function dateToTimestamp(d: Date): Timestamp {
  const ms = d.getTime();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1_000_000 };
}
