// Fixed attributes and their fattr3 encoding, written out by hand from RFC 1813 section 2.5
// (one 32-bit word per group), shared by the pkg/nfs/v3 encoding tests.
import type { Attributes } from '../../pkg/vfs';

export const SAMPLE_ATTRS: Attributes = {
  type: 'file',
  mode: 0o644,
  nlink: 1,
  uid: 1000,
  gid: 100,
  size: 2 ** 32 + 5,
  used: 8192,
  rdevMajor: 0,
  rdevMinor: 0,
  ino: 42,
  generation: 9,
  atime: { sec: 0x5f5e1000, nsec: 1 },
  mtime: { sec: 2, nsec: 3 },
  ctime: { sec: 4, nsec: 999_999_999 },
};
export const SAMPLE_FSID = 0x0102030405060708n;

// fattr3: type mode nlink uid gid | size(2) used(2) | rdev(2) | fsid(2) fileid(2) | atime mtime ctime
export const SAMPLE_FATTR3 = [
  '00000001 000001a4 00000001 000003e8 00000064',
  '00000001 00000005',
  '00000000 00002000',
  '00000000 00000000',
  '01020304 05060708',
  '00000000 0000002a',
  '5f5e1000 00000001',
  '00000002 00000003',
  '00000004 3b9ac9ff',
].join(' ');
