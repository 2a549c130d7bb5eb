// MOUNT v3 (RFC 1813 appendix I).
export { createMountProgram } from './program';
export type { MountDeps } from './context';
export { MOUNT_AUTH_FLAVORS } from './mnt';
export { FHSIZE3, MNTNAMLEN, MNTPATHLEN, MOUNT_PROGRAM, MOUNT_V3, MountProc, MountStat3 } from './constants';
