// RPC authentication: AUTH_NONE and AUTH_SYS (RFC 5531 §10.1 and appendix A).
//
//   struct authsys_parms { unsigned int stamp; string machinename<255>;
//       unsigned int uid; unsigned int gid; unsigned int gids<16>; };
//
// Which auth_stat for what (RFC 5531 §9 gives the meaning of each code, not a rule per case):
// - a credential body that does not decode as its flavor says: AUTH_BADCRED ("bad credential");
// - a verifier that is not AUTH_NONE with an empty body, which both flavors require
//   (appendix A: "the verifier accompanying the credential should have a flavor of
//   AUTH_NONE"): AUTH_BADVERF;
// - any other flavor (AUTH_SHORT, AUTH_DH, RPCSEC_GSS, ...): AUTH_REJECTEDCRED. RFC 5531
//   appendix A names it as the answer that makes a client drop an AUTH_SHORT credential and
//   resend its full AUTH_SYS one, and the Sun reference implementation's _authenticate()
//   returns it for every flavor it has no handler for. AUTH_TOOWEAK would tell a client that
//   a stronger flavor is wanted, which is the opposite of the truth here.
import type { AuthFlavor, AuthSys } from './program';
import { AuthStat, type OpaqueAuth } from './message';
import { XdrError, XdrReader, XdrWriter } from '../xdr';

export const AUTH_NONE = 0;
export const AUTH_SYS = 1;
export const AUTH_SHORT = 2;
export const AUTH_DH = 3;
export const RPCSEC_GSS = 6;

export const MAX_MACHINE_NAME_BYTES = 255;
export const MAX_AUTH_SYS_GIDS = 16;

export type AuthResult =
  | { ok: true; flavor: AuthFlavor; authSys?: AuthSys }
  | { ok: false; stat: AuthStat };

/** Decodes an AUTH_SYS credential body; throws XdrError if it is malformed or has trailing bytes. */
export function decodeAuthSys(body: Buffer): AuthSys {
  const r = new XdrReader(body);
  const stamp = r.uint32();
  const machineName = r.string(MAX_MACHINE_NAME_BYTES);
  const uid = r.uint32();
  const gid = r.uint32();
  const gids = r.array(MAX_AUTH_SYS_GIDS, () => r.uint32());
  if (r.remaining !== 0) throw new XdrError(`${r.remaining} bytes after authsys_parms`);
  return { stamp, machineName, uid, gid, gids };
}

/** Encodes an AUTH_SYS credential body (for clients and tests). */
export function encodeAuthSys(a: AuthSys): Buffer {
  const w = new XdrWriter(64).uint32(a.stamp).string(a.machineName).uint32(a.uid).uint32(a.gid).uint32(a.gids.length);
  for (const g of a.gids) w.uint32(g);
  return Buffer.from(w.toBuffer());
}

/** Checks a call's credential and verifier. */
export function authenticate(cred: OpaqueAuth, verf: OpaqueAuth): AuthResult {
  if (cred.flavor !== AUTH_NONE && cred.flavor !== AUTH_SYS) return { ok: false, stat: AuthStat.AUTH_REJECTEDCRED };
  if (verf.flavor !== AUTH_NONE || verf.body.length !== 0) return { ok: false, stat: AuthStat.AUTH_BADVERF };
  if (cred.flavor === AUTH_NONE) {
    return cred.body.length === 0 ? { ok: true, flavor: AUTH_NONE } : { ok: false, stat: AuthStat.AUTH_BADCRED };
  }
  try {
    return { ok: true, flavor: AUTH_SYS, authSys: decodeAuthSys(cred.body) };
  } catch (err) {
    if (err instanceof XdrError) return { ok: false, stat: AuthStat.AUTH_BADCRED };
    throw err;
  }
}
