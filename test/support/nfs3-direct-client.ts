// An NFSv3 client that calls the program's handlers directly (no socket), building each call
// with XdrWriter and parsing each reply by its RFC 1813 layout. For procedure-level tests.
import type { RpcProgram } from '../../pkg/nfs/rpc/program';
import type { XdrReader, XdrWriter } from '../../pkg/nfs/xdr';
import type { Credentials } from '../../pkg/vfs';
import { callNfs3, readFattr, readPostOpAttr, readWccData, type Fattr, type Nfs3Reply, type WccData } from './nfs3-call';

// Procedure numbers written out from RFC 1813 rather than imported from pkg/nfs/v3/constants.ts:
// the tests' oracle stays independent of the table the server dispatches on.
export const P = {
  GETATTR: 1,
  SETATTR: 2,
  LOOKUP: 3,
  ACCESS: 4,
  READLINK: 5,
  READ: 6,
  WRITE: 7,
  CREATE: 8,
  MKDIR: 9,
  SYMLINK: 10,
  MKNOD: 11,
  REMOVE: 12,
  RMDIR: 13,
  RENAME: 14,
  LINK: 15,
  READDIR: 16,
  READDIRPLUS: 17,
  FSSTAT: 18,
  FSINFO: 19,
  PATHCONF: 20,
  COMMIT: 21,
} as const;

export interface Sattr {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
}

export interface DirEntry3 {
  fileid: number;
  name: string;
  cookie: bigint;
  attrs?: Fattr;
  fh?: Buffer;
}

export interface DirPage {
  status: number;
  dirAttrs?: Fattr;
  verf: Buffer;
  entries: DirEntry3[];
  eof: boolean;
  /** Bytes of the resok arm (reply minus the status word). */
  resokBytes: number;
}

function writeSattr(w: XdrWriter, s: Sattr = {}): void {
  for (const v of [s.mode, s.uid, s.gid]) {
    if (v === undefined) w.uint32(0);
    else w.uint32(1).uint32(v);
  }
  if (s.size === undefined) w.uint32(0);
  else w.uint32(1).uint64(s.size);
  w.uint32(0).uint32(0); // atime, mtime: DONT_CHANGE
}

function name(w: XdrWriter, n: string | Buffer): void {
  if (typeof n === 'string') w.string(n);
  else w.opaque(n);
}

export type CreateHow = 'unchecked' | 'guarded' | { verifier: Buffer };

export class DirectNfs3Client {
  constructor(
    readonly program: RpcProgram,
    public cred: Credentials | 'none' = { uid: 0, gid: 0, gids: [] },
  ) {}

  call(proc: number, args: (w: XdrWriter) => void): Promise<Nfs3Reply> {
    return callNfs3(this.program, proc, args, this.cred);
  }

  async getattr(fh: Buffer): Promise<{ status: number; attrs?: Fattr }> {
    const rep = await this.call(P.GETATTR, (w) => w.opaque(fh));
    return { status: rep.status, attrs: rep.status === 0 ? readFattr(rep.r) : undefined };
  }

  async setattr(fh: Buffer, s: Sattr, guard?: { sec: number; nsec: number }): Promise<{ status: number; wcc: WccData }> {
    const rep = await this.call(P.SETATTR, (w) => {
      writeSattr(w.opaque(fh), s);
      if (guard) w.uint32(1).uint32(guard.sec).uint32(guard.nsec);
      else w.uint32(0);
    });
    return { status: rep.status, wcc: readWccData(rep.r) };
  }

  async lookup(dir: Buffer, n: string | Buffer): Promise<{ status: number; fh?: Buffer; attrs?: Fattr; dirAttrs?: Fattr }> {
    const rep = await this.call(P.LOOKUP, (w) => name(w.opaque(dir), n));
    if (rep.status !== 0) return { status: rep.status, dirAttrs: readPostOpAttr(rep.r) };
    const fh = Buffer.from(rep.r.opaque(64));
    return { status: 0, fh, attrs: readPostOpAttr(rep.r), dirAttrs: readPostOpAttr(rep.r) };
  }

  async access(fh: Buffer, mask: number): Promise<{ status: number; granted?: number }> {
    const rep = await this.call(P.ACCESS, (w) => w.opaque(fh).uint32(mask));
    readPostOpAttr(rep.r);
    return { status: rep.status, granted: rep.status === 0 ? rep.r.uint32() : undefined };
  }

  async readlink(fh: Buffer): Promise<{ status: number; target?: string }> {
    const rep = await this.call(P.READLINK, (w) => w.opaque(fh));
    readPostOpAttr(rep.r);
    return { status: rep.status, target: rep.status === 0 ? rep.r.string(4096) : undefined };
  }

  async read(fh: Buffer, offset: number, count: number): Promise<{ status: number; data?: Buffer; eof?: boolean; attrs?: Fattr }> {
    const rep = await this.call(P.READ, (w) => w.opaque(fh).uint64(offset).uint32(count));
    const attrs = readPostOpAttr(rep.r);
    if (rep.status !== 0) return { status: rep.status, attrs };
    const n = rep.r.uint32();
    const eof = rep.r.bool();
    const data = Buffer.from(rep.r.opaque(0xffffffff));
    if (data.length !== n) throw new Error(`READ count ${n} but ${data.length} bytes`);
    return { status: 0, data, eof, attrs };
  }

  async write(
    fh: Buffer,
    offset: number,
    data: Buffer,
    stable = 0,
  ): Promise<{ status: number; wcc: WccData; count?: number; committed?: number; verf?: Buffer }> {
    const rep = await this.call(P.WRITE, (w) => w.opaque(fh).uint64(offset).uint32(data.length).uint32(stable).opaque(data));
    const wcc = readWccData(rep.r);
    if (rep.status !== 0) return { status: rep.status, wcc };
    return { status: 0, wcc, count: rep.r.uint32(), committed: rep.r.uint32(), verf: Buffer.from(rep.r.fixedOpaque(8)) };
  }

  async commit(fh: Buffer): Promise<{ status: number; wcc: WccData; verf?: Buffer }> {
    const rep = await this.call(P.COMMIT, (w) => w.opaque(fh).uint64(0).uint32(0));
    const wcc = readWccData(rep.r);
    return { status: rep.status, wcc, verf: rep.status === 0 ? Buffer.from(rep.r.fixedOpaque(8)) : undefined };
  }

  create(dir: Buffer, n: string | Buffer, how: CreateHow = 'unchecked', s: Sattr = { mode: 0o644 }): Promise<Created3> {
    return this.created(P.CREATE, (w) => {
      name(w.opaque(dir), n);
      if (how === 'unchecked') writeSattr(w.uint32(0), s);
      else if (how === 'guarded') writeSattr(w.uint32(1), s);
      else w.uint32(2).fixedOpaque(how.verifier);
    });
  }

  mkdir(dir: Buffer, n: string | Buffer, s: Sattr = { mode: 0o755 }): Promise<Created3> {
    return this.created(P.MKDIR, (w) => {
      name(w.opaque(dir), n);
      writeSattr(w, s);
    });
  }

  symlink(dir: Buffer, n: string, target: string): Promise<Created3> {
    return this.created(P.SYMLINK, (w) => {
      name(w.opaque(dir), n);
      writeSattr(w);
      w.string(target);
    });
  }

  mknod(dir: Buffer, n: string, ftype: number, rdev = { major: 0, minor: 0 }): Promise<Created3> {
    return this.created(P.MKNOD, (w) => {
      name(w.opaque(dir), n);
      w.uint32(ftype);
      if (ftype === 3 || ftype === 4 || ftype === 6 || ftype === 7) writeSattr(w, { mode: 0o600 });
      if (ftype === 3 || ftype === 4) w.uint32(rdev.major).uint32(rdev.minor);
    });
  }

  private async created(proc: number, args: (w: XdrWriter) => void): Promise<Created3> {
    const rep = await this.call(proc, args);
    if (rep.status !== 0) return { status: rep.status, dirWcc: readWccData(rep.r) };
    const fh = rep.r.bool() ? Buffer.from(rep.r.opaque(64)) : undefined;
    const attrs = readPostOpAttr(rep.r);
    return { status: 0, fh, attrs, dirWcc: readWccData(rep.r) };
  }

  async remove(dir: Buffer, n: string | Buffer, proc: number = P.REMOVE): Promise<{ status: number; wcc: WccData }> {
    const rep = await this.call(proc, (w) => name(w.opaque(dir), n));
    return { status: rep.status, wcc: readWccData(rep.r) };
  }

  rmdir(dir: Buffer, n: string): Promise<{ status: number; wcc: WccData }> {
    return this.remove(dir, n, P.RMDIR);
  }

  async rename(fromDir: Buffer, from: string, toDir: Buffer, to: string): Promise<{ status: number; from: WccData; to: WccData }> {
    const rep = await this.call(P.RENAME, (w) => {
      name(w.opaque(fromDir), from);
      name(w.opaque(toDir), to);
    });
    return { status: rep.status, from: readWccData(rep.r), to: readWccData(rep.r) };
  }

  async link(fh: Buffer, dir: Buffer, n: string): Promise<{ status: number; attrs?: Fattr; wcc: WccData }> {
    const rep = await this.call(P.LINK, (w) => name(w.opaque(fh).opaque(dir), n));
    return { status: rep.status, attrs: readPostOpAttr(rep.r), wcc: readWccData(rep.r) };
  }

  async readdir(dir: Buffer, cookie: bigint, verf: Buffer, count: number): Promise<DirPage> {
    const rep = await this.call(P.READDIR, (w) => w.opaque(dir).uint64(cookie).fixedOpaque(verf).uint32(count));
    return dirPage(rep, false);
  }

  async readdirplus(dir: Buffer, cookie: bigint, verf: Buffer, dircount: number, maxcount: number): Promise<DirPage> {
    const rep = await this.call(P.READDIRPLUS, (w) =>
      w.opaque(dir).uint64(cookie).fixedOpaque(verf).uint32(dircount).uint32(maxcount),
    );
    return dirPage(rep, true);
  }

  async status(proc: number, fh: Buffer): Promise<Nfs3Reply> {
    return this.call(proc, (w) => w.opaque(fh));
  }
}

export interface Created3 {
  status: number;
  fh?: Buffer;
  attrs?: Fattr;
  dirWcc: WccData;
}

function dirPage(rep: Nfs3Reply, plus: boolean): DirPage {
  const r: XdrReader = rep.r;
  const dirAttrs = readPostOpAttr(r);
  if (rep.status !== 0) return { status: rep.status, dirAttrs, verf: Buffer.alloc(8), entries: [], eof: false, resokBytes: 0 };
  const verf = Buffer.from(r.fixedOpaque(8));
  const entries: DirEntry3[] = [];
  while (r.bool()) {
    const e: DirEntry3 = { fileid: r.uint64Number(), name: r.string(255), cookie: r.uint64() };
    if (plus) {
      e.attrs = readPostOpAttr(r);
      if (r.bool()) e.fh = Buffer.from(r.opaque(64));
    }
    entries.push(e);
  }
  const eof = r.bool();
  if (r.remaining !== 0) throw new Error(`${r.remaining} bytes after the directory list`);
  return { status: 0, dirAttrs, verf, entries, eof, resokBytes: rep.bytes.length - 4 };
}
