// POSIX attributes in object user metadata, as DESIGN.md decision 3 fixes them: written in
// s3fs's form (x-amz-meta-mode = decimal st_mode with the type bits, uid, gid, mtime = epoch
// seconds), read in every form the common tools write:
//   s3fs      mode "33188", mtime "1700000000"
//   rclone    mtime "2023-11-14T22:13:20.123456789Z" (RFC 3339) or "1700000000.123456789",
//             mode as octal ("100644") with --metadata
//   s3cmd     s3cmd-attrs "mode:33188/uid:0/gid:0/mtime:1700000000/..."
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

/** User metadata (keys without x-amz-meta-) for an object holding a file of these attributes. */
export function encodeMetadata(a: PosixAttributes): Record<string, string> {
  return {
    mode: String(TYPE_BITS[a.type] | (a.mode & 0o7777)),
    uid: String(a.uid),
    gid: String(a.gid),
    mtime: String(a.mtime.sec),
  };
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

export function decodeMetadata(meta: Record<string, string>): DecodedAttributes {
  const s3cmd = s3cmdAttrs(meta['s3cmd-attrs']);
  const mode = parseMode(meta.mode ?? s3cmd.mode);
  const out: DecodedAttributes = {};
  if (mode) {
    out.mode = mode.mode;
    if (mode.type) out.type = mode.type;
  }
  const uid = parseId(meta.uid ?? s3cmd.uid);
  const gid = parseId(meta.gid ?? s3cmd.gid);
  const mtime = parseTime(meta.mtime ?? s3cmd.mtime);
  if (uid !== undefined) out.uid = uid;
  if (gid !== undefined) out.gid = gid;
  if (mtime) out.mtime = mtime;
  return out;
}

export function dateToTimestamp(d: Date): Timestamp {
  const ms = d.getTime();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1_000_000 };
}
