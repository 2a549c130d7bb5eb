// ONC RPC v2 over TCP (RFC 5531): the server, its message and record codecs, and AUTH_SYS.
export type { CallObserver } from './dispatch';
export { RpcServer, DEFAULT_MAX_IN_FLIGHT_PER_CONNECTION, type RpcServerOptions } from './server';
export type { AuthFlavor, AuthSys, ProcedureHandler, RpcCallContext, RpcProgram } from './program';
export {
  AUTH_NONE,
  AUTH_SYS,
  AUTH_SHORT,
  AUTH_DH,
  RPCSEC_GSS,
  MAX_MACHINE_NAME_BYTES,
  MAX_AUTH_SYS_GIDS,
  authenticate,
  decodeAuthSys,
  encodeAuthSys,
  type AuthResult,
} from './auth';
export {
  RPC_VERSION,
  MAX_AUTH_BYTES,
  MsgType,
  ReplyStat,
  AcceptStat,
  RejectStat,
  AuthStat,
  decodeCall,
  encodeSuccessHeader,
  encodeAcceptError,
  encodeProgMismatch,
  encodeRpcMismatch,
  encodeAuthError,
  type CallHeader,
  type DecodedCall,
  type OpaqueAuth,
} from './message';
export {
  RecordDecoder,
  frameRecord,
  DEFAULT_MAX_RECORD_BYTES,
  LAST_FRAGMENT,
  MAX_FRAGMENT_BYTES,
  MAX_FRAGMENTS_PER_RECORD,
} from './record';
export { RecordError } from './errors';
