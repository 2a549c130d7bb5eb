// The one place where file system errors become nfsstat3 values (STYLE.md: one errno →
// nfsstat3 table, as manta-nfs common.js and go-nfs statusFromWriteError). Procedures throw
// NfsStatusError for failures they detect themselves (bad handle, name rules, read-only
// export) and let FsError from the FileSystem through; the program's runner maps both here.
import { FsError, type FsErrorCode } from '../../vfs';
import { Nfsstat3 } from './constants';

export class NfsStatusError extends Error {
  constructor(
    readonly status: Nfsstat3,
    cause?: unknown,
  ) {
    super(`nfsstat3 ${status}`, cause === undefined ? undefined : { cause });
    this.name = 'NfsStatusError';
  }
}

/** FsErrorCode → nfsstat3. A Record so that a new FsErrorCode fails to compile until mapped. */
export const FS_ERROR_STATUS: Readonly<Record<FsErrorCode, Nfsstat3>> = {
  EPERM: Nfsstat3.PERM,
  ENOENT: Nfsstat3.NOENT,
  EIO: Nfsstat3.IO,
  ENXIO: Nfsstat3.NXIO,
  EACCES: Nfsstat3.ACCES,
  EEXIST: Nfsstat3.EXIST,
  EXDEV: Nfsstat3.XDEV,
  ENODEV: Nfsstat3.NODEV,
  ENOTDIR: Nfsstat3.NOTDIR,
  EISDIR: Nfsstat3.ISDIR,
  EINVAL: Nfsstat3.INVAL,
  EFBIG: Nfsstat3.FBIG,
  ENOSPC: Nfsstat3.NOSPC,
  EROFS: Nfsstat3.ROFS,
  EMLINK: Nfsstat3.MLINK,
  ENAMETOOLONG: Nfsstat3.NAMETOOLONG,
  ENOTEMPTY: Nfsstat3.NOTEMPTY,
  EDQUOT: Nfsstat3.DQUOT,
  ESTALE: Nfsstat3.STALE,
  EBADHANDLE: Nfsstat3.BADHANDLE,
  ENOTSYNC: Nfsstat3.NOT_SYNC,
  EBADCOOKIE: Nfsstat3.BAD_COOKIE,
  ENOTSUPP: Nfsstat3.NOTSUPP,
  ETOOSMALL: Nfsstat3.TOOSMALL,
  EBADTYPE: Nfsstat3.BADTYPE,
  EJUKEBOX: Nfsstat3.JUKEBOX,
};

/**
 * The nfsstat3 for a thrown value, or undefined when it is neither an NfsStatusError nor an
 * FsError with a known code (the caller answers NFS3ERR_IO and logs it).
 */
export function knownStatusOf(err: unknown): Nfsstat3 | undefined {
  if (err instanceof NfsStatusError) return err.status;
  if (err instanceof FsError) return Object.prototype.hasOwnProperty.call(FS_ERROR_STATUS, err.code) ? FS_ERROR_STATUS[err.code] : undefined;
  return undefined;
}
