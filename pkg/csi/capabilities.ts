// Which volume capabilities s3files offers: a POSIX file system (never a block device), in
// every access mode — ReadWriteMany included, since all pods of a node share one coherent
// cache and nodes meet in S3. fs_type is ignored (the file system is always NFS to the
// kernel); Kubernetes fills it in from defaults that mean nothing here.
import { invalidArgument } from './errors';
import type { VolumeCapability__Output } from './generated/csi/v1/VolumeCapability';

/** Throws INVALID_ARGUMENT for a capability s3files cannot provide, naming why. */
export function checkCapability(cap: VolumeCapability__Output | null | undefined, field = 'volume_capability'): void {
  if (!cap) throw invalidArgument(`missing ${field}`);
  if (cap.block) throw invalidArgument('block access is not supported: s3files volumes are file systems');
  if (!cap.mount) throw invalidArgument(`${field} has no access_type (mount)`);
  const mode = cap.access_mode?.mode;
  if (!mode || mode === 'UNKNOWN') throw invalidArgument(`${field} has no access_mode`);
}

/** The reason a capability is not supported, or undefined when it is (ValidateVolumeCapabilities). */
export function unsupportedReason(cap: VolumeCapability__Output): string | undefined {
  try {
    checkCapability(cap);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export function checkCapabilities(caps: VolumeCapability__Output[] | undefined, field = 'volume_capabilities'): void {
  if (!caps || caps.length === 0) throw invalidArgument(`missing ${field}`);
  for (const cap of caps) checkCapability(cap, field);
}
