// For MOUNT tests only. MOUNT touches exactly two members of an export's FileSystem (the
// design's pkg/vfs contract): `rootIno`, and `getattr(rootIno)` for the root's generation,
// which goes into the file handle. This object implements only those two and is cast to
// FileSystem; anything else MOUNT might call would throw "not a function", failing the test.
// It is not a file system and must not be used where one is needed.
import { FsError, type Attributes, type FileSystem } from '../../pkg/vfs';

export class FakeRootOnlyFs {
  /** When set, getattr fails with it (to test MNT's error mapping). */
  failWith?: Error;

  constructor(
    readonly rootIno: number,
    readonly rootGeneration: number,
  ) {}

  async getattr(ino: number): Promise<Attributes> {
    if (this.failWith) throw this.failWith;
    if (ino !== this.rootIno) throw new FsError('ESTALE', `FakeRootOnlyFs knows only inode ${this.rootIno}`);
    const t = { sec: 1_700_000_000, nsec: 0 };
    return {
      type: 'dir',
      mode: 0o755,
      nlink: 2,
      uid: 0,
      gid: 0,
      size: 4096,
      used: 4096,
      rdevMajor: 0,
      rdevMinor: 0,
      ino,
      generation: this.rootGeneration,
      atime: t,
      mtime: t,
      ctime: t,
    };
  }

  asFileSystem(): FileSystem {
    return this as unknown as FileSystem;
  }
}
