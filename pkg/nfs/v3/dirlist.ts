// Byte accounting shared by READDIR and READDIRPLUS (RFC 1813 sections 3.3.16 and 3.3.17).
// The client's budgets are honoured exactly: every entry's encoded size is computed before it
// is written, and the list stops before the entry that would overflow.
//
//   READDIR      count    = the whole READDIR3resok (dir_attributes, cookieverf, entries, eof).
//   READDIRPLUS  maxcount = the whole READDIRPLUS3resok, attributes and handles included;
//                dircount = "bytes of directory information", without attributes and handles.
//                We count each entry as the entry3 it would be in READDIR (value_follows,
//                fileid, name, cookie). Older Linux clients sent dircount = maxcount / 8;
//                current ones send dircount = maxcount (fs/nfs/nfs3xdr.c).
// The status word is outside resok and not counted. Knfsd counts only the entries against
// `count`; counting the whole resok, as the RFC says, is never larger than what was asked.
import type { DirEntry } from '../../vfs';
import { HANDLE_BYTES } from '../handles';
import type { XdrReader } from '../xdr';
import { NFS3_COOKIEVERFSIZE, Nfsstat3 } from './constants';
import { NfsStatusError } from './status';
import { POST_OP_ATTR_BYTES } from './types';

/** resok bytes outside the entries: dir_attributes (always sent), cookieverf, list end, eof. */
export const DIRLIST_FIXED_BYTES = POST_OP_ATTR_BYTES + NFS3_COOKIEVERFSIZE + 4 + 4;

/** A client may ask for huge pages; we answer at most this much (the server may return less). */
export const DIRLIST_MAX_BYTES = 1024 * 1024;

/** Upper bound on entries asked of the FileSystem per call, to bound its work per request. */
export const MAX_ENTRIES_PER_CALL = 4096;

/** entry3: value_follows, fileid3, filename3 (length + padded bytes), cookie3. */
export function entry3Bytes(nameBytes: number): number {
  return 4 + 8 + 4 + ((nameBytes + 3) & ~3) + 8;
}

const MIN_ENTRY3_BYTES = entry3Bytes(1);
const HANDLE_XDR_BYTES = 4 + ((HANDLE_BYTES + 3) & ~3);

/** entryplus3 = entry3 + post_op_attr name_attributes + post_op_fh3 name_handle. */
export function entryplus3Bytes(nameBytes: number, withAttributes: boolean): number {
  return entry3Bytes(nameBytes) + (withAttributes ? POST_OP_ATTR_BYTES + 4 + HANDLE_XDR_BYTES : 4 + 4);
}

/** The largest number of entries that could fit: an upper bound for ReadDirOptions.maxEntries. */
export function maxEntriesFor(dircount: number, maxcount: number, plus: boolean): number {
  const room = maxcount - DIRLIST_FIXED_BYTES;
  const byMax = Math.floor(room / (plus ? entryplus3Bytes(1, true) : MIN_ENTRY3_BYTES));
  const byDir = Math.floor(dircount / MIN_ENTRY3_BYTES);
  return Math.max(1, Math.min(byMax, byDir, MAX_ENTRIES_PER_CALL));
}

export interface DirArgs {
  fh: Buffer;
  cookie: bigint;
  verifier: Buffer;
}

/** The arguments READDIR and READDIRPLUS share: dir, cookie, cookieverf. */
export function readDirArgs(r: XdrReader, readHandle: () => Buffer): DirArgs {
  const fh = readHandle();
  const cookie = r.uint64();
  const verifier = Buffer.from(r.fixedOpaque(NFS3_COOKIEVERFSIZE));
  return { fh, cookie, verifier };
}

export interface Selected {
  entry: DirEntry;
  name: Buffer;
}

/**
 * Takes entries from the front of `entries` while they fit both budgets. Throws
 * NFS3ERR_TOOSMALL when not even the fixed part, or not even the first entry, fits.
 */
export function selectEntries(entries: DirEntry[], dircount: number, maxcount: number, plus: boolean): Selected[] {
  let room = Math.min(maxcount, DIRLIST_MAX_BYTES) - DIRLIST_FIXED_BYTES;
  let dirRoom = dircount;
  if (room < 0) throw new NfsStatusError(Nfsstat3.TOOSMALL);
  const out: Selected[] = [];
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const dirSize = entry3Bytes(name.length);
    const size = plus ? entryplus3Bytes(name.length, entry.attributes !== undefined) : dirSize;
    if (size > room || dirSize > dirRoom) break;
    room -= size;
    dirRoom -= dirSize;
    out.push({ entry, name });
  }
  if (out.length === 0 && entries.length > 0) throw new NfsStatusError(Nfsstat3.TOOSMALL);
  return out;
}

/** The verifier the FileSystem returned, as exactly the 8 bytes cookieverf3 is on the wire. */
export function cookieVerf(v: Buffer): Buffer {
  if (v.length === NFS3_COOKIEVERFSIZE) return v;
  const out = Buffer.alloc(NFS3_COOKIEVERFSIZE);
  v.copy(out, 0, 0, Math.min(v.length, NFS3_COOKIEVERFSIZE));
  return out;
}
