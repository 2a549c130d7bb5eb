// The NFS version 3 program (100003, v3): one table of the 22 procedures of RFC 1813, each in
// procs/<name>.ts, wrapped by one runner that turns thrown failures into the procedure's
// declared resfail encoding.
import { describeError, logger as makeLogger, type Logger } from '../../log/logger';
import type { Attributes } from '../../vfs';
import { FsError } from '../../vfs';
import type { ExportRegistry } from '../exports';
import type { HandleCodec } from '../handles';
import type { ProcedureHandler, RpcCallContext, RpcProgram } from '../rpc/program';
import { XdrError, type XdrReader, type XdrWriter } from '../xdr';
import { NfsCall, type FailState, type NfsDeps, type NfsProcedure, type Resolved } from './call';
import { NFS_PROGRAM, NFS_V3, NFS3_WRITEVERFSIZE, Nfsstat3, Proc } from './constants';
import { HandleCache } from './handle-cache';
import { access } from './procs/access';
import { commit } from './procs/commit';
import { create } from './procs/create';
import { fsinfo } from './procs/fsinfo';
import { fsstat } from './procs/fsstat';
import { getattr } from './procs/getattr';
import { link } from './procs/link';
import { lookup } from './procs/lookup';
import { mkdir } from './procs/mkdir';
import { mknod } from './procs/mknod';
import { nullProc } from './procs/null';
import { pathconf } from './procs/pathconf';
import { read } from './procs/read';
import { readdir } from './procs/readdir';
import { readdirplus } from './procs/readdirplus';
import { readlink } from './procs/readlink';
import { remove } from './procs/remove';
import { rename } from './procs/rename';
import { rmdir } from './procs/rmdir';
import { setattr } from './procs/setattr';
import { symlink } from './procs/symlink';
import { write } from './procs/write';
import { nfs3ReplyBytesBound } from './reply-bound';
import { knownStatusOf } from './status';
import { writePostOpAttr, writeWccData } from './types';

export const PROCEDURES: readonly NfsProcedure[] = [
  nullProc,
  getattr,
  setattr,
  lookup,
  access,
  readlink,
  read,
  write,
  create,
  mkdir,
  symlink,
  mknod,
  remove,
  rmdir,
  rename,
  link,
  readdir,
  readdirplus,
  fsstat,
  fsinfo,
  pathconf,
  commit,
];

/**
 * Procedures whose second run for one call answers differently (a REMOVE that succeeded gives
 * NOENT the second time): replies are kept in the duplicate request cache (as knfsd does).
 */
const NON_IDEMPOTENT: ReadonlySet<number> = new Set([
  Proc.SETATTR,
  Proc.CREATE,
  Proc.MKDIR,
  Proc.SYMLINK,
  Proc.MKNOD,
  Proc.REMOVE,
  Proc.RMDIR,
  Proc.RENAME,
  Proc.LINK,
]);

export function createNfsProgram(deps: {
  exports: ExportRegistry;
  handles: HandleCodec;
  writeVerifier: Buffer;
  logger?: Logger;
}): RpcProgram {
  if (deps.writeVerifier.length !== NFS3_WRITEVERFSIZE) throw new Error('writeVerifier must be 8 bytes');
  const full: NfsDeps = {
    exports: deps.exports,
    handles: new HandleCache(deps.handles),
    writeVerifier: Buffer.from(deps.writeVerifier),
    logger: deps.logger ?? makeLogger('nfs'),
  };
  const table = new Map<number, ProcedureHandler>();
  for (const p of PROCEDURES) table.set(p.proc, bindProcedure(full, p));
  return {
    program: NFS_PROGRAM,
    name: 'nfs',
    versions: new Map([[NFS_V3, table]]),
    nonIdempotent: new Map([[NFS_V3, NON_IDEMPOTENT]]),
    replyBytesBound: nfs3ReplyBytesBound,
  };
}

/**
 * Runs one procedure. XdrError escapes (the RPC server answers GARBAGE_ARGS); every other
 * failure becomes an nfsstat3 with the procedure's failure body. Should a bug throw after the
 * resok arm was partly written, that error escapes too (SYSTEM_ERR) rather than a status
 * being appended to half a reply.
 */
export function bindProcedure(deps: NfsDeps, p: NfsProcedure): ProcedureHandler {
  return async (args: XdrReader, reply: XdrWriter, ctx: RpcCallContext): Promise<void> => {
    const call = new NfsCall(deps, args, reply, ctx);
    const fail: FailState = {};
    const start = reply.length;
    let status: Nfsstat3;
    try {
      await p.run(call, fail);
      return;
    } catch (err) {
      if (err instanceof XdrError || reply.length !== start) throw err;
      status = statusFor(err, p, ctx, deps.logger);
    }
    reply.uint32(status);
    await writeFailure(reply, p, fail);
  };
}

function statusFor(err: unknown, p: NfsProcedure, ctx: RpcCallContext, log: Logger): Nfsstat3 {
  const known = knownStatusOf(err);
  if (known !== undefined && known !== Nfsstat3.IO) return known;
  // Unknown errors and I/O errors are the server's problem: log them (never file data).
  log.error('nfs3 procedure failed', {
    procedure: p.name,
    xid: ctx.xid,
    client: ctx.remoteAddress,
    code: err instanceof FsError ? err.code : undefined,
    error: describeError(err),
  });
  return Nfsstat3.IO;
}

async function writeFailure(w: XdrWriter, p: NfsProcedure, fail: FailState): Promise<void> {
  switch (p.errorFormat) {
    case 'void':
      return;
    case 'post_op_attr':
      writePostOpAttr(w, fail.first?.attrs, fail.first?.exp.id ?? 0n);
      return;
    case 'wcc_data':
      await writeWccAfterFailure(w, fail.first);
      return;
    case 'wcc_data×2': {
      const [a, b] = await Promise.all([currentAttributes(fail.first), currentAttributes(fail.second)]);
      writeWccData(w, { after: a }, fail.first?.exp.id ?? 0n);
      writeWccData(w, { after: b }, fail.second?.exp.id ?? 0n);
      return;
    }
    case 'post_op_attr+wcc_data': {
      const [a, b] = await Promise.all([currentAttributes(fail.first), currentAttributes(fail.second)]);
      writePostOpAttr(w, a, fail.first?.exp.id ?? 0n);
      writeWccData(w, { after: b }, fail.second?.exp.id ?? 0n);
      return;
    }
  }
}

async function writeWccAfterFailure(w: XdrWriter, o: Resolved | undefined): Promise<void> {
  writeWccData(w, { after: await currentAttributes(o) }, o?.exp.id ?? 0n);
}

/** The object's attributes now, or undefined if they cannot be had (the failure body is optional data). */
async function currentAttributes(o: Resolved | undefined): Promise<Attributes | undefined> {
  if (o === undefined) return undefined;
  try {
    return await o.fs.getattr(o.ino, o.attrs.generation);
  } catch {
    return undefined;
  }
}
