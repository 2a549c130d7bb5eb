// The persistent inode record and its views (Attributes, wcc_attr). One record per inode, keyed
// by inode number in LMDB. `dataVersion` and `metaVersion` exist for the S3 reconciler: it
// compares them with the versions it last uploaded to decide what to send.
import { randomInt } from 'node:crypto';
import type { Attributes, FileType, Timestamp, WccAttributes } from '../../vfs';

export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;
export const PERM_MASK = 0o7777;

/** ext4's limit; also what we enforce for hard links and subdirectories. */
export const MAX_LINKS = 65000;
/** Size and space reported for a directory, as ext4 does for a small one. */
export const DIR_SIZE = 4096;
export const ROOT_INO = 1;

export interface InodeRecord {
  ino: number;
  gen: number;
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  /** Allocated bytes of the data file (regular files), DIR_SIZE for directories. */
  used: number;
  rdevMajor: number;
  rdevMinor: number;
  atime: Timestamp;
  mtime: Timestamp;
  ctime: Timestamp;
  /** Directories: the parent's inode ('..'); the root is its own parent. */
  parent?: number;
  /** Directories: the cookie the next entry gets (3, 4, ...; 1 and 2 are '.' and '..'). */
  nextCookie?: number;
  /** Directories: number of entries other than '.' and '..'. */
  entries?: number;
  /** Symlinks: the target. */
  target?: string;
  /** Regular files made by an exclusive CREATE: the client's verifier (hex). */
  verifier?: string;
  dataVersion: number;
  metaVersion: number;
}

export interface NewInode {
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  rdevMajor?: number;
  rdevMinor?: number;
  target?: string;
  parent?: number;
}

export const FIRST_COOKIE = 3;

export function newInodeRecord(ino: number, init: NewInode, now: Timestamp): InodeRecord {
  const rec: InodeRecord = {
    ino,
    gen: randomInt(1, 2 ** 32),
    type: init.type,
    mode: init.mode & PERM_MASK,
    uid: init.uid,
    gid: init.gid,
    nlink: init.type === 'dir' ? 2 : 1,
    size: 0,
    used: 0,
    rdevMajor: init.rdevMajor ?? 0,
    rdevMinor: init.rdevMinor ?? 0,
    atime: now,
    mtime: now,
    ctime: now,
    dataVersion: 1,
    metaVersion: 1,
  };
  if (init.type === 'dir') {
    rec.parent = init.parent ?? ino;
    rec.nextCookie = FIRST_COOKIE;
    rec.entries = 0;
    rec.size = DIR_SIZE;
    rec.used = DIR_SIZE;
  } else if (init.type === 'symlink') {
    rec.target = init.target ?? '';
    rec.size = Buffer.byteLength(rec.target, 'utf8');
  }
  return rec;
}

export function toAttributes(rec: InodeRecord): Attributes {
  return {
    type: rec.type,
    mode: rec.mode,
    nlink: rec.nlink,
    uid: rec.uid,
    gid: rec.gid,
    size: rec.size,
    used: rec.used,
    rdevMajor: rec.rdevMajor,
    rdevMinor: rec.rdevMinor,
    ino: rec.ino,
    generation: rec.gen,
    atime: rec.atime,
    mtime: rec.mtime,
    ctime: rec.ctime,
  };
}

export function toWccAttributes(rec: InodeRecord): WccAttributes {
  return { size: rec.size, mtime: rec.mtime, ctime: rec.ctime };
}

/** Linux's should_remove_suid: setuid always, setgid only when group-executable. */
export function killSuid(mode: number): number {
  let m = mode & ~S_ISUID;
  if (mode & 0o010) m &= ~S_ISGID;
  return m;
}
