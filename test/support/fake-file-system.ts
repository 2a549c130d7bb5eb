// A FileSystem with canned answers, for tests that check how the NFS layer encodes what a
// file system says (byte vectors need fixed attributes and timestamps). Every method not
// overridden fails with ENOTSUPP, and every call is recorded. Behaviour tests use the real
// file system (pkg/cache), not this.
import { FsError, type Attributes, type FileSystem, type FsInfo } from '../../pkg/vfs';

export interface RecordedCall {
  method: string;
  args: unknown[];
}

export const FAKE_FSINFO: FsInfo = {
  maxFileSize: 2 ** 40,
  maxNameBytes: 255,
  maxLinks: 32000,
  timeDeltaNs: 1_000_000,
  supportsHardLinks: true,
  supportsSymlinks: true,
  caseInsensitive: false,
  casePreserving: true,
};

const METHODS = [
  'getattr',
  'setattr',
  'lookup',
  'access',
  'readlink',
  'read',
  'write',
  'create',
  'mkdir',
  'symlink',
  'mknod',
  'remove',
  'rmdir',
  'rename',
  'link',
  'readdir',
  'commit',
  'fsstat',
] as const;

export type FakeFileSystem = FileSystem & { calls: RecordedCall[] };

/**
 * `attrs(ino)` answers getattr for inodes that `live` accepts (generation checked when
 * given); the rest is ENOTSUPP unless overridden.
 */
export function fakeFileSystem(
  attrs: (ino: number) => Attributes,
  overrides: Partial<FileSystem> = {},
  rootIno = 1,
): FakeFileSystem {
  const calls: RecordedCall[] = [];
  const fs: Record<string, unknown> = {
    rootIno,
    calls,
    fsinfo: () => FAKE_FSINFO,
    close: () => Promise.resolve(),
  };
  const defaults: Partial<FileSystem> = {
    getattr: (ino: number, generation?: number) => {
      const a = attrs(ino);
      if (generation !== undefined && generation !== a.generation) return Promise.reject(new FsError('ESTALE'));
      return Promise.resolve(a);
    },
  };
  for (const m of METHODS) {
    const impl = (overrides[m] ?? defaults[m]) as ((...args: unknown[]) => Promise<unknown>) | undefined;
    fs[m] = (...args: unknown[]) => {
      calls.push({ method: m, args });
      return impl ? impl(...args) : Promise.reject(new FsError('ENOTSUPP', m));
    };
  }
  if (overrides.fsinfo) fs.fsinfo = overrides.fsinfo;
  return fs as unknown as FakeFileSystem;
}
