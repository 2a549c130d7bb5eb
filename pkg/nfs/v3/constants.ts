// Wire constants of the NFS version 3 program (RFC 1813 sections 2 and 3) and the limits this
// server advertises. Only numbers live here; encoders are in types.ts.

export const NFS_PROGRAM = 100003;
export const NFS_V3 = 3;

/** Procedure numbers, RFC 1813 section 3. */
export const Proc = {
  NULL: 0,
  GETATTR: 1,
  SETATTR: 2,
  LOOKUP: 3,
  ACCESS: 4,
  READLINK: 5,
  READ: 6,
  WRITE: 7,
  CREATE: 8,
  MKDIR: 9,
  SYMLINK: 10,
  MKNOD: 11,
  REMOVE: 12,
  RMDIR: 13,
  RENAME: 14,
  LINK: 15,
  READDIR: 16,
  READDIRPLUS: 17,
  FSSTAT: 18,
  FSINFO: 19,
  PATHCONF: 20,
  COMMIT: 21,
} as const;

/** nfsstat3, RFC 1813 section 2.6. */
export const Nfsstat3 = {
  OK: 0,
  PERM: 1,
  NOENT: 2,
  IO: 5,
  NXIO: 6,
  ACCES: 13,
  EXIST: 17,
  XDEV: 18,
  NODEV: 19,
  NOTDIR: 20,
  ISDIR: 21,
  INVAL: 22,
  FBIG: 27,
  NOSPC: 28,
  ROFS: 30,
  MLINK: 31,
  NAMETOOLONG: 63,
  NOTEMPTY: 66,
  DQUOT: 69,
  STALE: 70,
  REMOTE: 71,
  BADHANDLE: 10001,
  NOT_SYNC: 10002,
  BAD_COOKIE: 10003,
  NOTSUPP: 10004,
  TOOSMALL: 10005,
  SERVERFAULT: 10006,
  BADTYPE: 10007,
  JUKEBOX: 10008,
} as const;
export type Nfsstat3 = (typeof Nfsstat3)[keyof typeof Nfsstat3];

/** ftype3, RFC 1813 section 2.5. */
export const Ftype3 = {
  REG: 1,
  DIR: 2,
  BLK: 3,
  CHR: 4,
  LNK: 5,
  SOCK: 6,
  FIFO: 7,
} as const;
export type Ftype3 = (typeof Ftype3)[keyof typeof Ftype3];
export const FTYPE3_VALUES: readonly Ftype3[] = [1, 2, 3, 4, 5, 6, 7];

/** stable_how (WRITE), RFC 1813 section 3.3.7. Ordered: a larger value is more durable. */
export const StableHow = {
  UNSTABLE: 0,
  DATA_SYNC: 1,
  FILE_SYNC: 2,
} as const;
export type StableHow = (typeof StableHow)[keyof typeof StableHow];
export const STABLE_HOW_VALUES: readonly StableHow[] = [0, 1, 2];

/** createmode3 (CREATE), RFC 1813 section 3.3.8. */
export const CreateMode3 = {
  UNCHECKED: 0,
  GUARDED: 1,
  EXCLUSIVE: 2,
} as const;
export type CreateMode3 = (typeof CreateMode3)[keyof typeof CreateMode3];
export const CREATE_MODE3_VALUES: readonly CreateMode3[] = [0, 1, 2];

/** time_how (sattr3 set_atime / set_mtime), RFC 1813 section 2.5. */
export const TimeHow = {
  DONT_CHANGE: 0,
  SET_TO_SERVER_TIME: 1,
  SET_TO_CLIENT_TIME: 2,
} as const;
export type TimeHow = (typeof TimeHow)[keyof typeof TimeHow];
export const TIME_HOW_VALUES: readonly TimeHow[] = [0, 1, 2];

/** ACCESS3_* bits, RFC 1813 section 3.3.4 (the same values as vfs `Access`). */
export const Access3 = {
  READ: 0x0001,
  LOOKUP: 0x0002,
  MODIFY: 0x0004,
  EXTEND: 0x0008,
  DELETE: 0x0010,
  EXECUTE: 0x0020,
} as const;
export const ACCESS3_ALL = 0x003f;
/** Bits a read-only export never grants. */
export const ACCESS3_WRITE_BITS = Access3.MODIFY | Access3.EXTEND | Access3.DELETE;

/** FSINFO properties, RFC 1813 section 3.3.19. */
export const Fsf3 = {
  LINK: 0x0001,
  SYMLINK: 0x0002,
  HOMOGENEOUS: 0x0008,
  CANSETTIME: 0x0010,
} as const;

// Sizes fixed by the protocol (RFC 1813 section 2.4).
export const NFS3_FHSIZE = 64;
export const NFS3_COOKIEVERFSIZE = 8;
export const NFS3_CREATEVERFSIZE = 8;
export const NFS3_WRITEVERFSIZE = 8;

// Limits this server enforces and advertises.
/** Longest file name component in bytes (PATHCONF name_max; longer → NAMETOOLONG). */
export const NAME_MAX_BYTES = 255;
/** Longest symlink target we accept (Linux PATH_MAX). */
export const PATH_MAX_BYTES = 4096;
/** FSINFO rtmax/rtpref: a READ asking for more gets a short read of this many bytes. */
export const READ_MAX = 1024 * 1024;
/** FSINFO wtmax/wtpref: a WRITE carrying more is a short write of this many bytes. */
export const WRITE_MAX = 1024 * 1024;
/** FSINFO rtmult/wtmult: the cache's block size, so aligned I/O never splits a block. */
export const IO_MULTIPLE = 4096;
/**
 * FSINFO dtpref. Larger than knfsd's one page: directories here are listed from S3 and each
 * READDIR(PLUS) round trip costs a database scan, so fewer, fuller pages are cheaper; the
 * Linux client still caps its request at its own maximum.
 */
export const DIR_PREF = 64 * 1024;
