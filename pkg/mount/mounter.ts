// The mount boundary of the node plugin, in the shape of Kubernetes' mount-utils: the node
// service decides what to mount where, a Mounter does it. ExecMounter runs mount(8) and
// umount(8); FakeMounter keeps a table in memory so the CSI node service can be tested
// without root and without a kernel NFS client.
import type { MountInfo } from './mountinfo';

export type { MountInfo } from './mountinfo';

export interface Mounter {
  /**
   * Mounts `source` on `target` (which must exist). `fstype` is empty for a bind mount, whose
   * options contain "bind"; a read-only bind ("bind" + "ro") is done the way the kernel
   * requires, as a bind followed by a read-only remount.
   */
  mount(source: string, target: string, fstype: string, options: string[]): Promise<void>;
  /** Unmounts `target`. Throws NotMountedError when nothing is mounted there. */
  unmount(target: string): Promise<void>;
  /** Whether `target` is itself a mount point (not merely a directory on one). */
  isMountPoint(target: string): Promise<boolean>;
  /** The current mount table. */
  list(): Promise<MountInfo[]>;
}

export class MountError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MountError';
  }
}

export class NotMountedError extends MountError {
  constructor(target: string) {
    super(`${target} is not mounted`);
    this.name = 'NotMountedError';
  }
}

/** The innermost mount whose target is exactly `target` (the last one mounted wins). */
export function findMount(mounts: MountInfo[], target: string): MountInfo | undefined {
  let found: MountInfo | undefined;
  for (const m of mounts) if (m.target === target) found = m;
  return found;
}

/** Whether a mount is read-only: "ro" among its per-mount options. */
export function isReadOnly(m: MountInfo): boolean {
  return m.options.includes('ro');
}
