// NFSv3 and MOUNTv3 argument encoders and reply readers for bench/rpc-bench.ts, written from
// RFC 1813 (not from the server's tables, so the bench checks what the wire says).
import { XdrReader, XdrWriter } from '../pkg/nfs/xdr';
import type { BenchRpcClient } from './rpc-bench-client';

export const NFS = 100003;
export const MOUNT = 100005;
export const P = { NULL: 0, GETATTR: 1, LOOKUP: 3, ACCESS: 4, WRITE: 7, CREATE: 8, MKDIR: 9, REMOVE: 12, READDIRPLUS: 17 } as const;
export const NFS3_OK = 0;
export const NFS3ERR_NOENT = 2;
export const NFS3ERR_EXIST = 17;

function sattr(w: XdrWriter, mode: number): void {
  w.uint32(1).uint32(mode); // set_mode
  w.uint32(0).uint32(0).uint32(0); // uid, gid, size: not set
  w.uint32(0).uint32(0); // atime, mtime: DONT_CHANGE
}

function buf(w: XdrWriter): Buffer {
  return Buffer.from(w.toBuffer());
}

export const args = {
  fh: (fh: Buffer): Buffer => buf(new XdrWriter(64).opaque(fh)),
  dirop: (dir: Buffer, name: string): Buffer => buf(new XdrWriter(128).opaque(dir).string(name)),
  access: (fh: Buffer, mask: number): Buffer => buf(new XdrWriter(64).opaque(fh).uint32(mask)),
  create: (dir: Buffer, name: string): Buffer => {
    const w = new XdrWriter(160).opaque(dir).string(name).uint32(0); // UNCHECKED
    sattr(w, 0o644);
    return buf(w);
  },
  mkdir: (dir: Buffer, name: string): Buffer => {
    const w = new XdrWriter(160).opaque(dir).string(name);
    sattr(w, 0o755);
    return buf(w);
  },
  write: (fh: Buffer, offset: number, data: Buffer): Buffer =>
    buf(new XdrWriter(128 + data.length).opaque(fh).uint64(offset).uint32(data.length).uint32(0).opaque(data)),
  readdirplus: (dir: Buffer, cookie: bigint, verf: Buffer, count: number): Buffer =>
    buf(new XdrWriter(96).opaque(dir).uint64(cookie).fixedOpaque(verf).uint32(count).uint32(count)),
};

/** Reads the nfsstat3 and throws unless it is one of `allowed`. */
export function status(r: XdrReader, what: string, allowed: readonly number[] = [NFS3_OK]): number {
  const s = r.uint32();
  if (!allowed.includes(s)) throw new Error(`${what}: nfsstat3 ${s}`);
  return s;
}

export async function mount(c: BenchRpcClient, exportPath: string): Promise<Buffer> {
  const r = await c.call(MOUNT, 3, 1, buf(new XdrWriter(64).string(exportPath)));
  status(r, `MNT ${exportPath}`);
  return Buffer.from(r.opaque(64));
}

/** LOOKUP3resok starts with the object's handle. */
export async function lookup(c: BenchRpcClient, dir: Buffer, name: string): Promise<Buffer> {
  const r = await c.call(NFS, 3, P.LOOKUP, args.dirop(dir, name));
  status(r, `LOOKUP ${name}`);
  return Buffer.from(r.opaque(64));
}

/** CREATE/MKDIR resok: post_op_fh3 first. */
export async function createLike(c: BenchRpcClient, proc: number, a: Buffer, what: string): Promise<Buffer> {
  const r = await c.call(NFS, 3, proc, a);
  status(r, what);
  if (!r.bool()) throw new Error(`${what}: no handle in the reply`);
  return Buffer.from(r.opaque(64));
}

/** Lists a directory with READDIRPLUS pages of `count` bytes; returns [entries, calls]. */
export async function listPlus(c: BenchRpcClient, dir: Buffer, count: number): Promise<[number, number]> {
  let cookie = 0n;
  let verf = Buffer.alloc(8);
  let entries = 0;
  for (let calls = 1; ; calls++) {
    const r = await c.call(NFS, 3, P.READDIRPLUS, args.readdirplus(dir, cookie, verf, count));
    status(r, 'READDIRPLUS');
    if (r.bool()) r.skip(84);
    verf = Buffer.from(r.fixedOpaque(8));
    while (r.bool()) {
      r.skip(8); // fileid
      r.opaque(255);
      cookie = r.uint64();
      if (r.bool()) r.skip(84);
      if (r.bool()) r.opaque(64);
      entries++;
    }
    if (r.bool()) return [entries, calls];
  }
}

export { XdrReader };
