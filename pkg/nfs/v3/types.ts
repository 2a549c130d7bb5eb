// XDR encoders and decoders for the structures NFSv3 procedures share (RFC 1813 section 2.5):
// nfstime3, specdata3, fattr3, post_op_attr, pre_op_attr/wcc_attr, wcc_data, post_op_fh3,
// sattr3 (with set_atime/set_mtime time_how), sattrguard3 and createhow3.
// They translate between the wire and the vfs types; they know nothing of exports or handles.
import type { Attributes, CreateMode, FileType, SetAttributes, SetTime, Timestamp, Wcc, WccAttributes } from '../../vfs';
import { XdrError, type XdrReader, type XdrWriter } from '../xdr';
import {
  CREATE_MODE3_VALUES,
  CreateMode3,
  FTYPE3_VALUES,
  Ftype3,
  NFS3_CREATEVERFSIZE,
  Nfsstat3,
  TIME_HOW_VALUES,
  TimeHow,
} from './constants';
import { NfsStatusError } from './status';

/** Encoded sizes in bytes, used to keep READDIR replies within the client's budget. */
export const FATTR3_BYTES = 84;
export const POST_OP_ATTR_BYTES = 4 + FATTR3_BYTES;
export const WCC_ATTR_BYTES = 24;

const TWO_32 = 0x1_0000_0000;

/**
 * Writes a non-negative integer below 2^53 as a uint64 without going through BigInt (the
 * hot encoders call this ~10 times per fattr3).
 */
export function writeU64(w: XdrWriter, v: number): void {
  const n = v > 0 ? Math.floor(v) : 0;
  w.uint32(Math.floor(n / TWO_32));
  w.uint32(n % TWO_32);
}

export function writeNfstime3(w: XdrWriter, t: Timestamp): void {
  // nfstime3.seconds is uint32: times before 1970 wrap, as on every NFSv3 server.
  w.uint32(t.sec);
  w.uint32(t.nsec);
}

export function readNfstime3(r: XdrReader): Timestamp {
  const sec = r.uint32();
  const nsec = r.uint32();
  return { sec, nsec };
}

const FTYPE_OF: Readonly<Record<FileType, Ftype3>> = {
  file: Ftype3.REG,
  dir: Ftype3.DIR,
  block: Ftype3.BLK,
  char: Ftype3.CHR,
  symlink: Ftype3.LNK,
  socket: Ftype3.SOCK,
  fifo: Ftype3.FIFO,
};

const FILE_TYPE_OF: Readonly<Record<Ftype3, FileType>> = {
  [Ftype3.REG]: 'file',
  [Ftype3.DIR]: 'dir',
  [Ftype3.BLK]: 'block',
  [Ftype3.CHR]: 'char',
  [Ftype3.LNK]: 'symlink',
  [Ftype3.SOCK]: 'socket',
  [Ftype3.FIFO]: 'fifo',
};

export function ftype3Of(type: FileType): Ftype3 {
  return FTYPE_OF[type];
}

/**
 * fattr3: type, mode, nlink, uid, gid, size, used, rdev, fsid, fileid, atime, mtime, ctime.
 * `fsid` is the export id, so that every export is a file system of its own to the client;
 * fileid is the inode number.
 */
export function writeFattr3(w: XdrWriter, a: Attributes, fsid: bigint): void {
  w.uint32(FTYPE_OF[a.type]);
  w.uint32(a.mode & 0o7777);
  w.uint32(a.nlink);
  w.uint32(a.uid);
  w.uint32(a.gid);
  writeU64(w, a.size);
  writeU64(w, a.used);
  w.uint32(a.rdevMajor);
  w.uint32(a.rdevMinor);
  writeFsid(w, fsid);
  writeU64(w, a.ino);
  writeNfstime3(w, a.atime);
  writeNfstime3(w, a.mtime);
  writeNfstime3(w, a.ctime);
}

// The fsid of the last fattr3 written, split into its two words: every fattr3 carries it and
// BigInt arithmetic per attribute showed in profiles; replies nearly always repeat one export.
let lastFsid = -1n;
let fsidHigh = 0;
let fsidLow = 0;

function writeFsid(w: XdrWriter, fsid: bigint): void {
  if (fsid !== lastFsid) {
    const v = BigInt.asUintN(64, fsid);
    fsidHigh = Number(v >> 32n);
    fsidLow = Number(v & 0xffff_ffffn);
    lastFsid = fsid;
  }
  w.uint32(fsidHigh);
  w.uint32(fsidLow);
}

/** Decodes fattr3 (for tests and tools); generation is not on the wire and comes back as 0. */
export function readFattr3(r: XdrReader): Attributes & { fsid: bigint } {
  const type = FILE_TYPE_OF[r.enumOf(FTYPE3_VALUES, 'ftype3')];
  const mode = r.uint32();
  const nlink = r.uint32();
  const uid = r.uint32();
  const gid = r.uint32();
  const size = r.uint64Number();
  const used = r.uint64Number();
  const rdevMajor = r.uint32();
  const rdevMinor = r.uint32();
  const fsid = r.uint64();
  const ino = r.uint64Number();
  const atime = readNfstime3(r);
  const mtime = readNfstime3(r);
  const ctime = readNfstime3(r);
  return { type, mode, nlink, uid, gid, size, used, rdevMajor, rdevMinor, fsid, ino, generation: 0, atime, mtime, ctime };
}

export function writePostOpAttr(w: XdrWriter, a: Attributes | undefined, fsid: bigint): void {
  if (a === undefined) {
    w.uint32(0);
    return;
  }
  w.uint32(1);
  writeFattr3(w, a, fsid);
}

/** pre_op_attr: the wcc_attr (size, mtime, ctime) of an object before the operation. */
export function writePreOpAttr(w: XdrWriter, b: WccAttributes | undefined): void {
  if (b === undefined) {
    w.uint32(0);
    return;
  }
  w.uint32(1);
  writeU64(w, b.size);
  writeNfstime3(w, b.mtime);
  writeNfstime3(w, b.ctime);
}

export function writeWccData(w: XdrWriter, wcc: Wcc | undefined, fsid: bigint): void {
  writePreOpAttr(w, wcc?.before);
  writePostOpAttr(w, wcc?.after, fsid);
}

export function writePostOpFh3(w: XdrWriter, fh: Buffer | undefined): void {
  if (fh === undefined) {
    w.uint32(0);
    return;
  }
  w.uint32(1);
  w.opaque(fh);
}

export function readSpecdata3(r: XdrReader): { major: number; minor: number } {
  const major = r.uint32();
  const minor = r.uint32();
  return { major, minor };
}

function readSetTime(r: XdrReader, what: string): SetTime | undefined {
  switch (r.enumOf(TIME_HOW_VALUES, what)) {
    case TimeHow.DONT_CHANGE:
      return undefined;
    case TimeHow.SET_TO_SERVER_TIME:
      return 'now';
    default:
      return readNfstime3(r);
  }
}

/**
 * sattr3. Mode keeps the permission and set-id bits only (some clients send type bits too).
 * A size beyond 2^53 cannot be a file size here: NFS3ERR_FBIG rather than GARBAGE_ARGS,
 * since the XDR itself is well formed.
 */
export function readSattr3(r: XdrReader): SetAttributes {
  const out: SetAttributes = {};
  if (r.bool()) out.mode = r.uint32() & 0o7777;
  if (r.bool()) out.uid = r.uint32();
  if (r.bool()) out.gid = r.uint32();
  if (r.bool()) {
    const size = r.uint64();
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new NfsStatusError(Nfsstat3.FBIG);
    out.size = Number(size);
  }
  const atime = readSetTime(r, 'set_atime');
  if (atime !== undefined) out.atime = atime;
  const mtime = readSetTime(r, 'set_mtime');
  if (mtime !== undefined) out.mtime = mtime;
  return out;
}

/** sattrguard3: the ctime the client expects the object to have, when it asks for a check. */
export function readSattrGuard3(r: XdrReader): Timestamp | undefined {
  return r.bool() ? readNfstime3(r) : undefined;
}

/** createhow3: UNCHECKED/GUARDED carry sattr3, EXCLUSIVE an 8-byte createverf3. */
export function readCreateHow3(r: XdrReader): CreateMode {
  const mode = r.enumOf(CREATE_MODE3_VALUES, 'createmode3');
  switch (mode) {
    case CreateMode3.UNCHECKED:
      return { kind: 'unchecked', attributes: readSattr3(r) };
    case CreateMode3.GUARDED:
      return { kind: 'guarded', attributes: readSattr3(r) };
    case CreateMode3.EXCLUSIVE:
      // Copied out of the record buffer: the file system keeps it to recognise a retransmission.
      return { kind: 'exclusive', verifier: Buffer.from(r.fixedOpaque(NFS3_CREATEVERFSIZE)) };
    default:
      throw new XdrError(`invalid createmode3 ${String(mode)}`);
  }
}
