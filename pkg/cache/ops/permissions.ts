// Permission checks from AUTH_SYS credentials, following Linux generic_permission and knfsd:
// - the owner class is decided first (owner bits only, then group, then other);
// - root bypasses read and write, and execute when any x bit is set (always on directories);
// - READ and WRITE of file data allow the owner regardless of mode bits, and READ is allowed
//   when execute is (knfsd NFSD_MAY_OWNER_OVERRIDE / NFSD_MAY_READ_IF_EXEC): a client that
//   created a file with mode 0444 and then writes through its open descriptor must succeed;
// - ACCESS reports the plain mode bits, so that the client's open() checks are POSIX.
import { Access, FsError, type Credentials } from '../../vfs';
import { S_ISVTX, type InodeRecord } from '../meta/inode';

export const R = 4;
export const W = 2;
export const X = 1;

export function isRoot(cred: Credentials): boolean {
  return cred.uid === 0;
}

export function inGroup(cred: Credentials, gid: number): boolean {
  return cred.gid === gid || cred.gids.includes(gid);
}

/** generic_permission: does `cred` hold all of `want` (R|W|X) on `rec`? */
export function permits(cred: Credentials, rec: InodeRecord, want: number): boolean {
  if (isRoot(cred)) {
    if (want & X && rec.type !== 'dir' && (rec.mode & 0o111) === 0) return false;
    return true;
  }
  let bits: number;
  if (cred.uid === rec.uid) bits = rec.mode >> 6;
  else if (inGroup(cred, rec.gid)) bits = rec.mode >> 3;
  else bits = rec.mode;
  return (bits & 7 & want) === want;
}

export function requirePerm(cred: Credentials, rec: InodeRecord, want: number, what: string): void {
  if (!permits(cred, rec, want)) throw new FsError('EACCES', what);
}

/** Search permission on a directory, needed to look up any name in it. */
export function requireSearch(cred: Credentials, dir: InodeRecord): void {
  requirePerm(cred, dir, X, `no search permission on directory ${dir.ino}`);
}

/** Write and search permission on a directory, needed to add or remove a name. */
export function requireModifyDir(cred: Credentials, dir: InodeRecord): void {
  requirePerm(cred, dir, W | X, `no write permission on directory ${dir.ino}`);
}

/** knfsd owner override: reading file data. */
export function requireReadData(cred: Credentials, rec: InodeRecord): void {
  if (cred.uid === rec.uid) return;
  if (permits(cred, rec, R) || permits(cred, rec, X)) return;
  throw new FsError('EACCES', `no read permission on ${rec.ino}`);
}

/** knfsd owner override: writing or truncating file data. */
export function requireWriteData(cred: Credentials, rec: InodeRecord): void {
  if (cred.uid === rec.uid || permits(cred, rec, W)) return;
  throw new FsError('EACCES', `no write permission on ${rec.ino}`);
}

/** Sticky directories: only the owner of the entry or of the directory (or root) may unlink it. */
export function requireNotSticky(cred: Credentials, dir: InodeRecord, victim: InodeRecord): void {
  if (!(dir.mode & S_ISVTX) || isRoot(cred)) return;
  if (cred.uid === dir.uid || cred.uid === victim.uid) return;
  throw new FsError('EPERM', `sticky directory ${dir.ino}: not the owner of ${victim.ino}`);
}

/** The ACCESS answer, with knfsd's mapping of ACCESS3 bits to permission checks. */
export function grantedAccess(cred: Credentials, rec: InodeRecord, mask: number): number {
  let granted = 0;
  const grant = (bit: number, want: number): void => {
    if (mask & bit && permits(cred, rec, want)) granted |= bit;
  };
  grant(Access.READ, R);
  if (rec.type === 'dir') {
    grant(Access.LOOKUP, X);
    grant(Access.MODIFY, W | X);
    grant(Access.EXTEND, W | X);
    grant(Access.DELETE, W | X);
  } else {
    grant(Access.MODIFY, W);
    grant(Access.EXTEND, W);
    grant(Access.EXECUTE, X);
  }
  return granted;
}
