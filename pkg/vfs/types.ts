// The contract between the NFS layer (pkg/nfs) and the file system behind it (pkg/cache).
// It speaks of inodes, names and POSIX attributes; it knows nothing of XDR or nfsstat3.
// Failures are thrown as FsError (errors.ts) carrying a POSIX errno name.

export type FileType = 'file' | 'dir' | 'symlink' | 'block' | 'char' | 'socket' | 'fifo';

/** Seconds and nanoseconds since the epoch, as NFS and POSIX keep them. */
export interface Timestamp {
  sec: number;
  nsec: number;
}

/** The caller, from AUTH_SYS (or the export's anonymous identity after squashing). */
export interface Credentials {
  uid: number;
  gid: number;
  /** Supplementary groups, at most 16 as AUTH_SYS allows. */
  gids: number[];
}

export interface Attributes {
  type: FileType;
  /** Permission and set-id bits only (07777); the type is in `type`. */
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  /** Bytes actually allocated on the cache disk (sparse files use less than size). */
  used: number;
  /** Device numbers for block and char devices, 0 otherwise. */
  rdevMajor: number;
  rdevMinor: number;
  /** Inode number; unique within one file system for the lifetime of the inode. */
  ino: number;
  /** Bumped when an inode number is re-used, so that old handles become stale. */
  generation: number;
  atime: Timestamp;
  mtime: Timestamp;
  ctime: Timestamp;
}

/** The part of the attributes NFSv3 calls wcc_attr: what a client needs to validate its cache. */
export interface WccAttributes {
  size: number;
  mtime: Timestamp;
  ctime: Timestamp;
}

/** Weak cache consistency data for one object touched by an operation. */
export interface Wcc {
  before?: WccAttributes;
  after?: Attributes;
}

/** A time to set: the server's clock, or a value the client gives. */
export type SetTime = 'now' | Timestamp;

export interface SetAttributes {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: SetTime;
  mtime?: SetTime;
}

/** How CREATE treats an existing name (RFC 1813 createmode3, without wire details). */
export type CreateMode =
  | { kind: 'unchecked'; attributes: SetAttributes }
  | { kind: 'guarded'; attributes: SetAttributes }
  /** Exclusive create: the verifier is stored so that a retransmitted CREATE succeeds. */
  | { kind: 'exclusive'; verifier: Buffer };

/** How durable a write must be before the call returns. */
export type Stability = 'unstable' | 'data-sync' | 'file-sync';

/** The result of an operation that creates a name in a directory. */
export interface Created {
  ino: number;
  attributes: Attributes;
  dir: Wcc;
}

export interface LookupResult {
  ino: number;
  attributes: Attributes;
  dirAttributes: Attributes;
}

export interface ReadResult {
  data: Buffer;
  eof: boolean;
  attributes: Attributes;
  /**
   * If present, the caller calls it once it no longer needs `data` (a reply sent), and must
   * not touch `data` afterwards: the file system may reuse the buffer for another read. Not
   * calling it is safe (the buffer is then garbage-collected).
   */
  release?: () => void;
}

export interface WriteResult {
  count: number;
  committed: Stability;
  file: Wcc;
}

export interface DirEntry {
  name: string;
  ino: number;
  /** Opaque position after this entry; never 0 (0 means "from the start"). */
  cookie: bigint;
  /** Present when the caller asked for attributes (READDIRPLUS). */
  attributes?: Attributes;
}

export interface ReadDirResult {
  entries: DirEntry[];
  /** True when the last entry returned is the last in the directory. */
  eof: boolean;
  /** Cookies are valid only with this verifier; it changes if they can no longer be honoured. */
  verifier: Buffer;
  dirAttributes: Attributes;
}

export interface ReadDirOptions {
  cookie: bigint;
  verifier: Buffer;
  /** Stop once about this many entries are returned; the NFS layer trims to its byte budget. */
  maxEntries: number;
  withAttributes: boolean;
}

/** Bits of the ACCESS request and answer (same values as RFC 1813 ACCESS3_*). */
export const Access = {
  READ: 0x0001,
  LOOKUP: 0x0002,
  MODIFY: 0x0004,
  EXTEND: 0x0008,
  DELETE: 0x0010,
  EXECUTE: 0x0020,
} as const;

export interface FsStat {
  totalBytes: number;
  freeBytes: number;
  availableBytes: number;
  totalFiles: number;
  freeFiles: number;
  availableFiles: number;
}

/** Static facts about the file system that FSINFO and PATHCONF report. */
export interface FsInfo {
  maxFileSize: number;
  maxNameBytes: number;
  maxLinks: number;
  /** Timestamp granularity in nanoseconds. */
  timeDeltaNs: number;
  supportsHardLinks: boolean;
  supportsSymlinks: boolean;
  caseInsensitive: boolean;
  casePreserving: boolean;
}

/**
 * A POSIX file system addressed by inode number. Every call that takes `cred` checks
 * permissions for that caller. Implementations must make each call atomic with respect to
 * the others, and must make every metadata change durable before the returned promise
 * resolves (NFSv3 requires it of the server), while data written `unstable` becomes durable
 * at the latest on `commit`.
 */
export interface FileSystem {
  readonly rootIno: number;

  /** Throws STALE when the inode does not exist or its generation differs. */
  getattr(ino: number, generation?: number): Promise<Attributes>;
  setattr(cred: Credentials, ino: number, attrs: SetAttributes, guardCtime?: Timestamp): Promise<Wcc>;
  lookup(cred: Credentials, dir: number, name: string): Promise<LookupResult>;
  /** Returns the subset of `mask` (Access bits) that `cred` is granted. */
  access(cred: Credentials, ino: number, mask: number): Promise<{ granted: number; attributes: Attributes }>;
  readlink(cred: Credentials, ino: number): Promise<{ target: string; attributes: Attributes }>;
  read(cred: Credentials, ino: number, offset: number, count: number): Promise<ReadResult>;
  write(cred: Credentials, ino: number, offset: number, data: Buffer, stability: Stability): Promise<WriteResult>;
  create(cred: Credentials, dir: number, name: string, mode: CreateMode): Promise<Created>;
  mkdir(cred: Credentials, dir: number, name: string, attrs: SetAttributes): Promise<Created>;
  symlink(cred: Credentials, dir: number, name: string, target: string, attrs: SetAttributes): Promise<Created>;
  mknod(
    cred: Credentials,
    dir: number,
    name: string,
    type: 'block' | 'char' | 'socket' | 'fifo',
    attrs: SetAttributes,
    rdev: { major: number; minor: number },
  ): Promise<Created>;
  remove(cred: Credentials, dir: number, name: string): Promise<Wcc>;
  rmdir(cred: Credentials, dir: number, name: string): Promise<Wcc>;
  rename(
    cred: Credentials,
    fromDir: number,
    fromName: string,
    toDir: number,
    toName: string,
  ): Promise<{ from: Wcc; to: Wcc }>;
  link(cred: Credentials, ino: number, dir: number, name: string): Promise<{ attributes: Attributes; dir: Wcc }>;
  readdir(cred: Credentials, dir: number, options: ReadDirOptions): Promise<ReadDirResult>;
  /** Makes all data written to `ino` durable (NFS COMMIT; offset/count are advisory). */
  commit(cred: Credentials, ino: number, offset: number, count: number): Promise<Wcc>;
  fsstat(ino: number): Promise<FsStat>;
  fsinfo(): FsInfo;
  /** Flushes and releases everything; the instance is unusable afterwards. */
  close(): Promise<void>;
}
