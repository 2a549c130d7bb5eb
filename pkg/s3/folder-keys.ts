// How FolderStore maps any S3 key to a safe path, and walks keys back in S3's order.
//
// A key is split at '/', each segment becomes one path component, so a folder's listing is one
// readdir. Every component carries a type suffix — "~o" for an object, "~d" for a directory
// of deeper keys — so that "a" (object), "a/" (dir marker: object "" inside dir "a") and
// "a/b" all coexist. Inside a segment every byte outside [A-Za-z0-9._ -] and below 0x80 is
// percent-encoded ('/', '%', '~', control characters), non-ASCII UTF-8 is kept as is. "." and
// ".." become ".~o"/"..~d", never path navigation, so no key can name anything outside the
// root. A segment too long for a file name (255 bytes) becomes "~h" + SHA-256 of the segment;
// its real name is then read from the object's trailer, or from the "~name" file inside a
// hashed directory.
import { createHash } from 'node:crypto';

export const OBJECT_SUFFIX = '~o';
export const DIR_SUFFIX = '~d';
export const HASHED_PREFIX = '~h';
export const DIR_NAME_FILE = '~name';
const MAX_NAME_BYTES = 255;

function encodeSegmentRaw(seg: string): string {
  let out = '';
  for (const ch of seg) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0x80 || /[A-Za-z0-9._ -]/.test(ch)) out += ch;
    else out += `%${cp.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export interface EncodedSegment {
  name: string;
  hashed: boolean;
}

export function encodeSegment(seg: string, suffix: string): EncodedSegment {
  const raw = encodeSegmentRaw(seg) + suffix;
  if (Buffer.byteLength(raw, 'utf8') <= MAX_NAME_BYTES) return { name: raw, hashed: false };
  return { name: `${HASHED_PREFIX}${createHash('sha256').update(seg, 'utf8').digest('hex')}${suffix}`, hashed: true };
}

/** Path components (relative to the objects root) of the file holding `key`. */
export function keyToComponents(key: string): { dirs: EncodedSegment[]; dirSegments: string[]; file: EncodedSegment } {
  const segs = key.split('/');
  const last = segs.pop() ?? '';
  return { dirs: segs.map((s) => encodeSegment(s, DIR_SUFFIX)), dirSegments: segs, file: encodeSegment(last, OBJECT_SUFFIX) };
}

export interface DecodedEntry {
  name: string;
  type: 'object' | 'dir';
  /** The segment, or undefined for a hashed name (look it up). */
  segment: string | undefined;
}

/** Decodes a directory entry; undefined for names that are not ours (temp files, ~name). */
export function decodeEntry(name: string): DecodedEntry | undefined {
  const type = name.endsWith(OBJECT_SUFFIX) ? 'object' : name.endsWith(DIR_SUFFIX) ? 'dir' : undefined;
  if (!type) return undefined;
  const body = name.slice(0, -2);
  if (body.startsWith(HASHED_PREFIX)) return { name, type, segment: undefined };
  try {
    return { name, type, segment: decodeURIComponent(body) };
  } catch {
    return undefined;
  }
}

/** S3 orders keys by their UTF-8 bytes, which is not JavaScript's UTF-16 order. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Whether the subtree whose keys all start with `dirPrefix` can hold a key that is in the
 * listing (starts with `prefix`) and comes after `after`.
 */
export function subtreeWanted(dirPrefix: string, prefix: string, after: string | undefined): boolean {
  if (!(dirPrefix.startsWith(prefix) || prefix.startsWith(dirPrefix))) return false;
  if (after === undefined || after.startsWith(dirPrefix)) return true;
  return compareKeys(dirPrefix, after) > 0;
}
