// Validation of the names a client asks us to look up or create. knfsd refuses empty names and
// names containing '/' or NUL while decoding the request (GARBAGE_ARGS); below the wire we say
// EINVAL, which is what POSIX calls with such names give. '.' and '..' as a new name are EEXIST
// (knfsd nfsd_create: "isdotent → nfserr_exist"); a name over 255 bytes is ENAMETOOLONG.
import { FsError } from '../../vfs';

export const MAX_NAME_BYTES = 255;
export const MAX_SYMLINK_BYTES = 4096;

export function isDotName(name: string): boolean {
  return name === '.' || name === '..';
}

/** Checks the characters and length of any name. */
export function checkName(name: string): void {
  if (name.length === 0) throw new FsError('EINVAL', 'empty name');
  if (name.includes('/') || name.includes('\0')) throw new FsError('EINVAL', "name contains '/' or NUL");
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) throw new FsError('ENAMETOOLONG', 'name longer than 255 bytes');
}

/** Checks a name that is about to be created (create, mkdir, symlink, mknod, link). */
export function checkNewName(name: string): void {
  checkName(name);
  if (isDotName(name)) throw new FsError('EEXIST', `'${name}' always exists`);
}
