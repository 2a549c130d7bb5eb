// MOUNT protocol version 3 (RFC 1813 appendix I, §5.1 and §5.2): numbers and limits.

export const MOUNT_PROGRAM = 100005;
/**
 * Only version 3. MOUNT v1/v2 return a fixed 32-byte fhandle (RFC 1094), and our handles are
 * 40 bytes (pkg/nfs/handles.ts), so they could not be served; callers get PROG_MISMATCH 3–3.
 */
export const MOUNT_V3 = 3;

/** Maximum bytes in a path name (RFC 1813 §5.1.1). */
export const MNTPATHLEN = 1024;
/** Maximum bytes in a host or group name (RFC 1813 §5.1.2). */
export const MNTNAMLEN = 255;
/** Maximum bytes in a V3 file handle (RFC 1813 §5.1.3). */
export const FHSIZE3 = 64;

export const MountProc = {
  NULL: 0,
  MNT: 1,
  DUMP: 2,
  UMNT: 3,
  UMNTALL: 4,
  EXPORT: 5,
} as const;

/** mountstat3 (RFC 1813 §5.1.5). */
export const MountStat3 = {
  MNT3_OK: 0,
  MNT3ERR_PERM: 1,
  MNT3ERR_NOENT: 2,
  MNT3ERR_IO: 5,
  MNT3ERR_ACCES: 13,
  MNT3ERR_NOTDIR: 20,
  MNT3ERR_INVAL: 22,
  MNT3ERR_NAMETOOLONG: 63,
  MNT3ERR_NOTSUPP: 10004,
  MNT3ERR_SERVERFAULT: 10006,
} as const;
export type MountStat3 = (typeof MountStat3)[keyof typeof MountStat3];
