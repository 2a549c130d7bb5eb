// Domain errors of the file system layer. The NFS layer maps `code` to nfsstat3 in one table
// (pkg/nfs/v3/status.ts); nothing below the NFS layer knows nfsstat3 values.

export type FsErrorCode =
  | 'EPERM' // not the owner (or not root) for an owner-only operation
  | 'ENOENT'
  | 'EIO'
  | 'ENXIO'
  | 'EACCES' // permission bits deny the operation
  | 'EEXIST'
  | 'EXDEV'
  | 'ENODEV'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'EINVAL'
  | 'EFBIG'
  | 'ENOSPC'
  | 'EROFS'
  | 'EMLINK'
  | 'ENAMETOOLONG'
  | 'ENOTEMPTY'
  | 'EDQUOT'
  | 'ESTALE' // the inode is gone or was re-used (generation differs)
  | 'EBADHANDLE' // the handle is not one of ours
  | 'ENOTSYNC' // SETATTR guard ctime did not match
  | 'EBADCOOKIE' // READDIR cookie no longer valid
  | 'ENOTSUPP'
  | 'ETOOSMALL'
  | 'EBADTYPE' // object type not supported (e.g. MKNOD of a type we refuse)
  | 'EJUKEBOX'; // temporarily unavailable, try again later (e.g. data still being fetched)

export class FsError extends Error {
  constructor(
    readonly code: FsErrorCode,
    message?: string,
    options?: { cause?: unknown },
  ) {
    super(message ? `${code}: ${message}` : code, options);
    this.name = 'FsError';
  }
}

export function isFsError(err: unknown, code?: FsErrorCode): err is FsError {
  return err instanceof FsError && (code === undefined || err.code === code);
}

/**
 * Converts a Node.js system error from the local disk into an FsError, so that ENOSPC on the
 * cache disk reaches the client as NFS3ERR_NOSPC instead of a generic I/O error.
 */
export function fromSystemError(err: unknown, context: string): FsError {
  if (err instanceof FsError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
    case 'EROFS':
    case 'EACCES':
    case 'EPERM':
    case 'ENOENT':
      return new FsError(code, context, { cause: err });
    default:
      return new FsError('EIO', context, { cause: err });
  }
}
