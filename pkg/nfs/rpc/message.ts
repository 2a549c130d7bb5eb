// ONC RPC v2 messages (RFC 5531 §9): decoding the CALL header and encoding every kind of reply.
//
//   struct rpc_msg { unsigned int xid; union switch (msg_type mtype) {
//       case CALL: call_body cbody; case REPLY: reply_body rbody; } body; };
//   struct call_body { unsigned int rpcvers; /* must be 2 */ unsigned int prog, vers, proc;
//       opaque_auth cred; opaque_auth verf; /* procedure-specific parameters follow */ };
//   struct opaque_auth { auth_flavor flavor; opaque body<400>; };
//   union reply_body switch (reply_stat stat) {
//       case MSG_ACCEPTED: accepted_reply areply; case MSG_DENIED: rejected_reply rreply; };
//   struct accepted_reply { opaque_auth verf; union switch (accept_stat stat) {
//       case SUCCESS: opaque results[0]; case PROG_MISMATCH: struct { unsigned int low, high; }
//       mismatch_info; default: void; } reply_data; };
//   union rejected_reply switch (reject_stat stat) {
//       case RPC_MISMATCH: struct { unsigned int low, high; } mismatch_info;
//       case AUTH_ERROR: auth_stat stat; };
import { XdrError, type XdrReader, type XdrWriter } from '../xdr';

export const RPC_VERSION = 2;
/** RFC 5531 §8.2: the body of an opaque_auth is at most 400 bytes. */
export const MAX_AUTH_BYTES = 400;

export const MsgType = { CALL: 0, REPLY: 1 } as const;
export const ReplyStat = { MSG_ACCEPTED: 0, MSG_DENIED: 1 } as const;

export const AcceptStat = {
  SUCCESS: 0,
  PROG_UNAVAIL: 1,
  PROG_MISMATCH: 2,
  PROC_UNAVAIL: 3,
  GARBAGE_ARGS: 4,
  SYSTEM_ERR: 5,
} as const;
export type AcceptStat = (typeof AcceptStat)[keyof typeof AcceptStat];

export const RejectStat = { RPC_MISMATCH: 0, AUTH_ERROR: 1 } as const;

export const AuthStat = {
  AUTH_OK: 0,
  AUTH_BADCRED: 1,
  AUTH_REJECTEDCRED: 2,
  AUTH_BADVERF: 3,
  AUTH_REJECTEDVERF: 4,
  AUTH_TOOWEAK: 5,
  AUTH_INVALIDRESP: 6,
  AUTH_FAILED: 7,
} as const;
export type AuthStat = (typeof AuthStat)[keyof typeof AuthStat];

export interface OpaqueAuth {
  flavor: number;
  /** A view into the record (not copied). */
  body: Buffer;
}

export interface CallHeader {
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  cred: OpaqueAuth;
  verf: OpaqueAuth;
}

/** What the server does with a record, decided from its header alone. */
export type DecodedCall =
  /** A well-formed call; the reader is positioned at the procedure's arguments. */
  | { kind: 'call'; header: CallHeader }
  /** Not even the fixed header (xid … proc) is there: the stream is garbage, close it. */
  | { kind: 'malformed'; reason: string }
  /** A REPLY (or unknown msg_type) sent to a server: no one to answer, drop it. */
  | { kind: 'not-call'; xid: number; msgType: number }
  /** rpcvers ≠ 2: the rest cannot be trusted; answer RPC_MISMATCH. */
  | { kind: 'rpc-mismatch'; xid: number; rpcvers: number }
  /** cred or verf is truncated or longer than 400 bytes. */
  | { kind: 'auth-error'; xid: number; stat: AuthStat };

export function decodeCall(r: XdrReader): DecodedCall {
  if (r.remaining < 4) return { kind: 'malformed', reason: 'record shorter than an xid' };
  const xid = r.uint32();
  if (r.remaining < 4) return { kind: 'malformed', reason: 'no msg_type' };
  const msgType = r.uint32();
  if (msgType !== MsgType.CALL) return { kind: 'not-call', xid, msgType };
  if (r.remaining < 4) return { kind: 'malformed', reason: 'no rpcvers' };
  const rpcvers = r.uint32();
  if (rpcvers !== RPC_VERSION) return { kind: 'rpc-mismatch', xid, rpcvers };
  if (r.remaining < 12) return { kind: 'malformed', reason: 'no prog/vers/proc' };
  const prog = r.uint32();
  const vers = r.uint32();
  const proc = r.uint32();
  const cred = readOpaqueAuth(r);
  if (!cred) return { kind: 'auth-error', xid, stat: AuthStat.AUTH_BADCRED };
  const verf = readOpaqueAuth(r);
  if (!verf) return { kind: 'auth-error', xid, stat: AuthStat.AUTH_BADVERF };
  return { kind: 'call', header: { xid, prog, vers, proc, cred, verf } };
}

function readOpaqueAuth(r: XdrReader): OpaqueAuth | undefined {
  try {
    const flavor = r.uint32();
    return { flavor, body: r.opaque(MAX_AUTH_BYTES) };
  } catch (err) {
    if (err instanceof XdrError) return undefined;
    throw err;
  }
}

/** xid, REPLY, MSG_ACCEPTED, verifier AUTH_NONE with an empty body, accept_stat. */
function acceptedHeader(w: XdrWriter, xid: number, stat: AcceptStat): XdrWriter {
  return w.uint32(xid).uint32(MsgType.REPLY).uint32(ReplyStat.MSG_ACCEPTED).uint32(0).uint32(0).uint32(stat);
}

/** The header of a successful reply; the procedure's results are encoded after it. */
export function encodeSuccessHeader(w: XdrWriter, xid: number): XdrWriter {
  return acceptedHeader(w, xid, AcceptStat.SUCCESS);
}

/** An accepted reply with no results: PROG_UNAVAIL, PROC_UNAVAIL, GARBAGE_ARGS or SYSTEM_ERR. */
export function encodeAcceptError(
  w: XdrWriter,
  xid: number,
  stat: typeof AcceptStat.PROG_UNAVAIL | typeof AcceptStat.PROC_UNAVAIL | typeof AcceptStat.GARBAGE_ARGS | typeof AcceptStat.SYSTEM_ERR,
): XdrWriter {
  return acceptedHeader(w, xid, stat);
}

/** PROG_MISMATCH with the lowest and highest versions of the program this server has. */
export function encodeProgMismatch(w: XdrWriter, xid: number, low: number, high: number): XdrWriter {
  return acceptedHeader(w, xid, AcceptStat.PROG_MISMATCH).uint32(low).uint32(high);
}

/** MSG_DENIED / RPC_MISMATCH: this server speaks RPC version 2 only. */
export function encodeRpcMismatch(w: XdrWriter, xid: number, low = RPC_VERSION, high = RPC_VERSION): XdrWriter {
  return w.uint32(xid).uint32(MsgType.REPLY).uint32(ReplyStat.MSG_DENIED).uint32(RejectStat.RPC_MISMATCH).uint32(low).uint32(high);
}

/** MSG_DENIED / AUTH_ERROR with the reason. */
export function encodeAuthError(w: XdrWriter, xid: number, stat: AuthStat): XdrWriter {
  return w.uint32(xid).uint32(MsgType.REPLY).uint32(ReplyStat.MSG_DENIED).uint32(RejectStat.AUTH_ERROR).uint32(stat);
}
