// Turns one RPC record into one reply (or none): header, authentication, program / version /
// procedure lookup, the handler, and the mapping of its failures to accept_stat. It knows
// nothing of sockets, so it is tested with plain buffers.
import type { Logger } from '../../log/logger';
import { describeError } from '../../log/logger';
import { XdrError, XdrReader, XdrWriter } from '../xdr';
import { authenticate } from './auth';
import {
  AcceptStat,
  decodeCall,
  encodeAcceptError,
  encodeAuthError,
  encodeProgMismatch,
  encodeRpcMismatch,
  encodeSuccessHeader,
  type CallHeader,
} from './message';
import type { ProcedureHandler, RpcCallContext, RpcProgram } from './program';
import { ReplyCache, type CacheableReply } from './reply-cache';

export interface Peer {
  address: string;
  port: number;
}

export type DispatchOutcome =
  /** The reply message, not yet framed. */
  | { kind: 'reply'; message: Buffer[]; afterSend?: () => void }
  /** Nothing to answer (a REPLY sent to us). */
  | { kind: 'drop'; reason: string }
  /** The stream is garbage: close the connection. */
  | { kind: 'close'; reason: string };

interface ProgramEntry {
  program: RpcProgram;
  low: number;
  high: number;
}

const SMALL_REPLY = 64;
const NULL_PROCEDURE = 0;
/** Reply memory reserved for a call whose program gives no bound (attributes, handles, names). */
export const DEFAULT_REPLY_BOUND = 8 * 1024;

/** Told of every call a program handled: for metrics and per-procedure tracing. */
export type CallObserver = (call: {
  program: string;
  procedure: number;
  durationNs: bigint;
  outcome: 'success' | 'garbage_args' | 'system_err';
}) => void;

export class Dispatcher {
  private readonly programs = new Map<number, ProgramEntry>();

  constructor(
    programs: readonly RpcProgram[],
    private readonly log: Logger,
    private readonly observe?: CallObserver,
    private readonly replyCache: ReplyCache = new ReplyCache(),
  ) {
    for (const program of programs) {
      if (this.programs.has(program.program)) throw new Error(`RPC program ${program.program} registered twice`);
      const versions = [...program.versions.keys()];
      if (versions.length === 0) throw new Error(`RPC program ${program.name} has no versions`);
      this.programs.set(program.program, { program, low: Math.min(...versions), high: Math.max(...versions) });
    }
  }

  /**
   * The reply memory to reserve for a record before dispatching it: its program's bound, read
   * by peeking at the call header (xid, type, rpcvers, prog, vers, proc, cred, verf) without
   * decoding it; anything that does not look like a call gets the default (its reply is small).
   */
  replyBound(record: Buffer): number {
    if (record.length < 40) return DEFAULT_REPLY_BOUND;
    const credEnd = 32 + padded(record.readUInt32BE(28));
    if (credEnd + 8 > record.length) return DEFAULT_REPLY_BOUND;
    const argsStart = credEnd + 8 + padded(record.readUInt32BE(credEnd + 4));
    if (argsStart > record.length) return DEFAULT_REPLY_BOUND;
    const program = this.programs.get(record.readUInt32BE(12))?.program;
    const bound = program?.replyBytesBound?.(record.readUInt32BE(16), record.readUInt32BE(20), record.subarray(argsStart));
    return bound === undefined ? DEFAULT_REPLY_BOUND : Math.max(DEFAULT_REPLY_BOUND, bound);
  }

  async dispatch(record: Buffer, peer: Peer): Promise<DispatchOutcome> {
    const args = new XdrReader(record);
    const decoded = decodeCall(args);
    switch (decoded.kind) {
      case 'malformed':
        return { kind: 'close', reason: decoded.reason };
      case 'not-call':
        return { kind: 'drop', reason: `msg_type ${decoded.msgType} is not CALL` };
      case 'rpc-mismatch':
        return reply(encodeRpcMismatch(new XdrWriter(SMALL_REPLY), decoded.xid));
      case 'auth-error':
        return reply(encodeAuthError(new XdrWriter(SMALL_REPLY), decoded.xid, decoded.stat));
      case 'call':
        return this.call(decoded.header, args, peer, record);
    }
  }

  private async call(h: CallHeader, args: XdrReader, peer: Peer, record: Buffer): Promise<DispatchOutcome> {
    const auth = authenticate(h.cred, h.verf);
    if (!auth.ok) return reply(encodeAuthError(new XdrWriter(SMALL_REPLY), h.xid, auth.stat));
    const entry = this.programs.get(h.prog);
    if (!entry) return reply(encodeAcceptError(new XdrWriter(SMALL_REPLY), h.xid, AcceptStat.PROG_UNAVAIL));
    const procedures = entry.program.versions.get(h.vers);
    if (!procedures) return reply(encodeProgMismatch(new XdrWriter(SMALL_REPLY), h.xid, entry.low, entry.high));
    const handler: ProcedureHandler | undefined = procedures.get(h.proc);
    if (!handler) {
      // By convention procedure 0 of every program is NULL, taking and returning void (as in
      // RFC 1813 for NFS and MOUNT, RFC 1833 for rpcbind); clients ping with it, so answer it
      // even when a program's table leaves it out.
      if (h.proc === NULL_PROCEDURE) return reply(encodeSuccessHeader(new XdrWriter(SMALL_REPLY), h.xid));
      return reply(encodeAcceptError(new XdrWriter(SMALL_REPLY), h.xid, AcceptStat.PROC_UNAVAIL));
    }
    const ctx: RpcCallContext = {
      xid: h.xid,
      program: h.prog,
      version: h.vers,
      procedure: h.proc,
      flavor: auth.flavor,
      authSys: auth.authSys,
      remoteAddress: peer.address,
      remotePort: peer.port,
    };
    if (entry.program.nonIdempotent?.get(h.vers)?.has(h.proc)) {
      const key = ReplyCache.key(peer.address, h.xid, h.prog, h.vers, h.proc, record.subarray(args.offset));
      const { message, replayed } = await this.replyCache.run(key, () => this.execute(entry.program, handler, args, ctx));
      if (replayed) this.log.debug('replayed a retransmitted call', { program: entry.program.name, procedure: h.proc, xid: h.xid, client: peer.address });
      // No afterSend here: a kept reply may be sent again, so its buffers are never reused.
      return { kind: 'reply', message };
    }
    const { message, afterSend } = await this.execute(entry.program, handler, args, ctx);
    return { kind: 'reply', message, afterSend };
  }

  /** Runs the handler; a reply is worth replaying unless the call failed with SYSTEM_ERR. */
  private async execute(program: RpcProgram, handler: ProcedureHandler, args: XdrReader, ctx: RpcCallContext): Promise<CacheableReply> {
    const out = encodeSuccessHeader(new XdrWriter(), ctx.xid);
    const started = process.hrtime.bigint();
    try {
      await handler(args, out, ctx);
    } catch (err) {
      const stat = this.failureStat(err, program, ctx);
      this.observe?.({
        program: program.name,
        procedure: ctx.procedure,
        durationNs: process.hrtime.bigint() - started,
        outcome: stat === AcceptStat.GARBAGE_ARGS ? 'garbage_args' : 'system_err',
      });
      const message = encodeAcceptError(new XdrWriter(SMALL_REPLY), ctx.xid, stat).chunks();
      return { message, cacheable: stat === AcceptStat.GARBAGE_ARGS };
    }
    this.observe?.({
      program: program.name,
      procedure: ctx.procedure,
      durationNs: process.hrtime.bigint() - started,
      outcome: 'success',
    });
    return { message: out.chunks(), cacheable: true, afterSend: out.sentHook() };
  }

  private failureStat(
    err: unknown,
    program: RpcProgram,
    ctx: RpcCallContext,
  ): typeof AcceptStat.GARBAGE_ARGS | typeof AcceptStat.SYSTEM_ERR {
    const fields = {
      program: program.name,
      version: ctx.version,
      procedure: ctx.procedure,
      xid: ctx.xid,
      client: ctx.remoteAddress,
      error: describeError(err),
    };
    if (err instanceof XdrError) {
      this.log.debug('garbage arguments', fields);
      return AcceptStat.GARBAGE_ARGS;
    }
    this.log.error('procedure failed', fields);
    return AcceptStat.SYSTEM_ERR;
  }
}

/** An XDR opaque body's length with its padding (a huge length stays huge, and fails checks). */
function padded(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}

function reply(w: XdrWriter): DispatchOutcome {
  return { kind: 'reply', message: w.chunks() };
}
