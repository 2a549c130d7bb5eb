// Calls NFSv3 procedure handlers directly (no socket): arguments are built with XdrWriter,
// the reply is read back with XdrReader. For unit and procedure-level tests of pkg/nfs/v3.
import type { AuthSys, RpcCallContext, RpcProgram } from '../../pkg/nfs/rpc/program';
import { XdrReader, XdrWriter } from '../../pkg/nfs/xdr';
import type { Credentials } from '../../pkg/vfs';

export interface Nfs3Reply {
  /** The writer the handler encoded into (chunks() shows by-reference data). */
  writer: XdrWriter;
  bytes: Buffer;
  /** Positioned after the status word. */
  r: XdrReader;
  status: number;
}

export function callContext(procedure: number, cred?: Credentials | 'none'): RpcCallContext {
  const base = { xid: 7, program: 100003, version: 3, procedure, remoteAddress: '127.0.0.1', remotePort: 900 };
  if (cred === 'none') return { ...base, flavor: 0 };
  const c = cred ?? { uid: 0, gid: 0, gids: [] };
  const authSys: AuthSys = { stamp: 1, machineName: 'test', uid: c.uid, gid: c.gid, gids: c.gids };
  return { ...base, flavor: 1, authSys };
}

/**
 * Runs `procedure` of `program` with arguments written by `args`. Rejects with whatever the
 * handler throws (XdrError → the server would answer GARBAGE_ARGS).
 */
export async function callNfs3(
  program: RpcProgram,
  procedure: number,
  args: (w: XdrWriter) => void,
  cred?: Credentials | 'none',
): Promise<Nfs3Reply> {
  const handler = program.versions.get(3)?.get(procedure);
  if (handler === undefined) throw new Error(`no handler for procedure ${procedure}`);
  const aw = new XdrWriter();
  args(aw);
  const argBytes = Buffer.from(aw.toBuffer());
  const writer = new XdrWriter();
  await handler(new XdrReader(argBytes), writer, callContext(procedure, cred));
  const bytes = writer.toBuffer();
  const r = new XdrReader(bytes);
  const status = bytes.length >= 4 ? r.uint32() : -1;
  return { writer, bytes, r, status };
}

/** Hex of a buffer in 4-byte words, for readable assertions against RFC layouts. */
export function words(b: Buffer): string {
  const out: string[] = [];
  for (let i = 0; i < b.length; i += 4) out.push(b.subarray(i, i + 4).toString('hex'));
  return out.join(' ');
}

export interface Fattr {
  type: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  fsid: bigint;
  fileid: number;
  ctime: { sec: number; nsec: number };
}

/** fattr3 as the client sees it (ftype3 number, fsid, fileid). */
export function readFattr(r: XdrReader): Fattr {
  const type = r.uint32();
  const mode = r.uint32();
  const nlink = r.uint32();
  const uid = r.uint32();
  const gid = r.uint32();
  const size = r.uint64Number();
  r.uint64(); // used
  r.skip(8); // rdev
  const fsid = r.uint64();
  const fileid = r.uint64Number();
  r.skip(16); // atime, mtime
  const ctime = { sec: r.uint32(), nsec: r.uint32() };
  return { type, mode, nlink, uid, gid, size, fsid, fileid, ctime };
}

export function readPostOpAttr(r: XdrReader): Fattr | undefined {
  return r.bool() ? readFattr(r) : undefined;
}

export interface WccData {
  before?: { size: number };
  after?: Fattr;
}

export function readWccData(r: XdrReader): WccData {
  let before: WccData['before'];
  if (r.bool()) {
    before = { size: r.uint64Number() };
    r.skip(16);
  }
  return { before, after: readPostOpAttr(r) };
}
