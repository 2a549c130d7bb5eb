// What the ONC RPC server dispatches to. A program (MOUNT, NFS) registers a table of
// procedures per version; the server owns the record layer, the RPC header and auth, and
// calls the handler with the decoded credentials and a reader positioned at the arguments.
import type { XdrReader, XdrWriter } from '../xdr';

export type AuthFlavor = 0 | 1; // AUTH_NONE, AUTH_SYS

export interface AuthSys {
  stamp: number;
  machineName: string;
  uid: number;
  gid: number;
  gids: number[];
}

export interface RpcCallContext {
  xid: number;
  program: number;
  version: number;
  procedure: number;
  flavor: AuthFlavor;
  /** Present when flavor is AUTH_SYS. */
  authSys?: AuthSys;
  remoteAddress: string;
  remotePort: number;
}

/**
 * Decodes arguments from `args` and encodes the procedure's result (status and body) into
 * `reply`; the RPC accepted-reply header is already written. Throwing XdrError makes the
 * server answer GARBAGE_ARGS; any other error becomes SYSTEM_ERR (and is logged). Handlers
 * that fail at the protocol level (an nfsstat3) encode that failure themselves.
 */
export type ProcedureHandler = (args: XdrReader, reply: XdrWriter, ctx: RpcCallContext) => Promise<void> | void;

export interface RpcProgram {
  readonly program: number;
  readonly name: string;
  /** version → procedure number → handler */
  readonly versions: ReadonlyMap<number, ReadonlyMap<number, ProcedureHandler>>;
  /**
   * version → procedures that must not run twice for one call (REMOVE, RENAME, ...): their
   * replies are kept in the duplicate request cache and replayed to retransmissions.
   */
  readonly nonIdempotent?: ReadonlyMap<number, ReadonlySet<number>>;
  /**
   * The most bytes a call's reply can take, read from its undecoded arguments (READ: its
   * count), or undefined for a small reply. The server reserves this much reply memory before
   * the call runs, so it must be cheap and must not throw.
   */
  replyBytesBound?(version: number, procedure: number, args: Buffer): number | undefined;
}
