// RPC message byte vectors worked out by hand from RFC 5531 §9 and appendix A.
import assert from 'node:assert/strict';
import { XdrReader, XdrWriter } from '../xdr';
import { authenticate, decodeAuthSys, encodeAuthSys } from './auth';
import {
  AcceptStat,
  AuthStat,
  decodeCall,
  encodeAcceptError,
  encodeAuthError,
  encodeProgMismatch,
  encodeRpcMismatch,
  encodeSuccessHeader,
  type DecodedCall,
} from './message';

/** Hex with whitespace and // comments ignored. */
const hex = (s: string): Buffer => {
  const digits = s.replace(/\/\/.*$/gm, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad hex in test vector: ${digits}`);
  return Buffer.from(digits, 'hex');
};
const out = (w: XdrWriter): string => w.toBuffer().toString('hex');
const decode = (s: string): DecodedCall => decodeCall(new XdrReader(hex(s)));

// NULL call, xid 42, to NFS (100003) version 3, with AUTH_SYS stamp 0x12345678,
// machinename "box", uid 1000, gid 100, gids {100, 27}.
const AUTH_SYS_BODY = `
  12345678                    // stamp
  00000003 626f7800           // machinename "box" + 1 pad byte
  000003e8                    // uid 1000
  00000064                    // gid 100
  00000002 00000064 0000001b  // gids<16> = {100, 27}
`;
const NULL_CALL = `
  0000002a                    // xid 42
  00000000                    // msg_type CALL
  00000002                    // rpcvers 2
  000186a3                    // prog 100003
  00000003                    // vers 3
  00000000                    // proc 0 (NULL)
  00000001 00000020           // cred: AUTH_SYS, 32 bytes
  ${AUTH_SYS_BODY}
  00000000 00000000           // verf: AUTH_NONE, 0 bytes
`;

describe('RPC CALL header (RFC 5531 §9)', () => {
  it('decodes a NULL call to NFS v3 with AUTH_SYS', () => {
    const r = new XdrReader(hex(NULL_CALL));
    const d = decodeCall(r);
    assert.equal(d.kind, 'call');
    if (d.kind !== 'call') return;
    const { xid, prog, vers, proc, cred, verf } = d.header;
    assert.deepEqual({ xid, prog, vers, proc }, { xid: 42, prog: 100003, vers: 3, proc: 0 });
    assert.equal(cred.flavor, 1);
    assert.equal(cred.body.toString('hex'), hex(AUTH_SYS_BODY).toString('hex'));
    assert.deepEqual({ flavor: verf.flavor, length: verf.body.length }, { flavor: 0, length: 0 });
    assert.equal(r.remaining, 0, 'positioned at the (empty) arguments');
    assert.deepEqual(authenticate(cred, verf), {
      ok: true,
      flavor: 1,
      authSys: { stamp: 0x12345678, machineName: 'box', uid: 1000, gid: 100, gids: [100, 27] },
    });
  });

  it('leaves the reader at the arguments', () => {
    const r = new XdrReader(hex(`${NULL_CALL}\n0000beef`));
    assert.equal(decodeCall(r).kind, 'call');
    assert.equal(r.uint32(), 0xbeef);
  });

  it('[error] rpcvers 3 → rpc-mismatch, with the xid', () => {
    assert.deepEqual(decode('0000002a 00000000 00000003 000186a3'), { kind: 'rpc-mismatch', xid: 42, rpcvers: 3 });
  });

  it('[error] a REPLY sent to the server → not-call', () => {
    assert.deepEqual(decode('0000002a 00000001 00000000'), { kind: 'not-call', xid: 42, msgType: 1 });
  });

  it('[error] an unknown msg_type → not-call', () => {
    assert.deepEqual(decode('0000002a 00000007'), { kind: 'not-call', xid: 42, msgType: 7 });
  });

  for (const [name, bytes] of [
    ['empty record', ''],
    ['3 bytes, no xid', '000000'],
    ['xid only', '0000002a'],
    ['no rpcvers', '0000002a 00000000'],
    ['cut inside prog/vers/proc', '0000002a 00000000 00000002 000186a3 00000003'],
  ] as const) {
    it(`[error] ${name} → malformed`, () => assert.equal(decode(bytes).kind, 'malformed'));
  }

  it('[error] cred body of 401 bytes → AUTH_BADCRED', () => {
    const call = `0000002a 00000000 00000002 000186a3 00000003 00000000 00000001 00000191 ${'00'.repeat(404)} 00000000 00000000`;
    assert.deepEqual(decode(call), { kind: 'auth-error', xid: 42, stat: AuthStat.AUTH_BADCRED });
  });

  it('a cred body of exactly 400 bytes is accepted by the header decoder', () => {
    const call = `0000002a 00000000 00000002 000186a3 00000003 00000000 00000001 00000190 ${'00'.repeat(400)} 00000000 00000000`;
    assert.equal(decode(call).kind, 'call');
  });

  it('[error] no credential at all → AUTH_BADCRED', () => {
    assert.deepEqual(decode('0000002a 00000000 00000002 000186a3 00000003 00000000'), {
      kind: 'auth-error',
      xid: 42,
      stat: AuthStat.AUTH_BADCRED,
    });
  });

  it('[error] truncated verifier → AUTH_BADVERF', () => {
    assert.deepEqual(decode('0000002a 00000000 00000002 000186a3 00000003 00000000 00000000 00000000 00000000 00000008 0000'), {
      kind: 'auth-error',
      xid: 42,
      stat: AuthStat.AUTH_BADVERF,
    });
  });
});

describe('RPC replies (RFC 5531 §9)', () => {
  //            xid      REPLY    ACCEPTED verf flavor+len   accept_stat
  const ACCEPTED = '0000002a 00000001 00000000 00000000 00000000';
  const cases: Array<[string, (w: XdrWriter) => unknown, string]> = [
    ['SUCCESS header', (w) => encodeSuccessHeader(w, 42), `${ACCEPTED} 00000000`],
    ['PROG_UNAVAIL', (w) => encodeAcceptError(w, 42, AcceptStat.PROG_UNAVAIL), `${ACCEPTED} 00000001`],
    ['PROG_MISMATCH low 2 high 3', (w) => encodeProgMismatch(w, 42, 2, 3), `${ACCEPTED} 00000002 00000002 00000003`],
    ['PROC_UNAVAIL', (w) => encodeAcceptError(w, 42, AcceptStat.PROC_UNAVAIL), `${ACCEPTED} 00000003`],
    ['GARBAGE_ARGS', (w) => encodeAcceptError(w, 42, AcceptStat.GARBAGE_ARGS), `${ACCEPTED} 00000004`],
    ['SYSTEM_ERR', (w) => encodeAcceptError(w, 42, AcceptStat.SYSTEM_ERR), `${ACCEPTED} 00000005`],
    //                                           xid      REPLY    DENIED   RPC_MISMATCH low  high
    ['RPC_MISMATCH 2..2', (w) => encodeRpcMismatch(w, 42), '0000002a 00000001 00000001 00000000 00000002 00000002'],
    //                                           xid      REPLY    DENIED   AUTH_ERROR auth_stat
    ['AUTH_ERROR AUTH_BADCRED', (w) => encodeAuthError(w, 42, AuthStat.AUTH_BADCRED), '0000002a 00000001 00000001 00000001 00000001'],
    ['AUTH_ERROR AUTH_REJECTEDCRED', (w) => encodeAuthError(w, 42, AuthStat.AUTH_REJECTEDCRED), '0000002a 00000001 00000001 00000001 00000002'],
    ['AUTH_ERROR AUTH_TOOWEAK', (w) => encodeAuthError(w, 42, AuthStat.AUTH_TOOWEAK), '0000002a 00000001 00000001 00000001 00000005'],
    ['xid 0xffffffff stays unsigned', (w) => encodeSuccessHeader(w, 0xffffffff), 'ffffffff 00000001 00000000 00000000 00000000 00000000'],
  ];
  for (const [name, encode, expected] of cases) {
    it(name, () => {
      const w = new XdrWriter();
      encode(w);
      assert.equal(out(w), hex(expected).toString('hex'));
    });
  }
});

describe('authentication (RFC 5531 appendix A)', () => {
  const none = { flavor: 0, body: Buffer.alloc(0) };
  const sys = (body: string) => ({ flavor: 1, body: hex(body) });

  it('AUTH_NONE with an empty body is accepted, without AUTH_SYS fields', () => {
    assert.deepEqual(authenticate(none, none), { ok: true, flavor: 0 });
  });

  it('AUTH_SYS round-trips through encodeAuthSys / decodeAuthSys', () => {
    const a = { stamp: 1, machineName: 'node-1', uid: 4294967294, gid: 0, gids: Array.from({ length: 16 }, (_, i) => i) };
    assert.deepEqual(decodeAuthSys(encodeAuthSys(a)), a);
  });

  it('AUTH_SYS with a 255-byte machine name and no gids is accepted', () => {
    const body = `00000000 000000ff ${'61'.repeat(255)}00 00000001 00000002 00000000`;
    const r = authenticate(sys(body), none);
    assert.ok(r.ok && r.authSys?.machineName.length === 255 && r.authSys.uid === 1 && r.authSys.gid === 2);
  });

  const rejected: Array<[string, { flavor: number; body: Buffer }, { flavor: number; body: Buffer }, number]> = [
    ['AUTH_NONE with a body', { flavor: 0, body: hex('00000000') }, none, AuthStat.AUTH_BADCRED],
    ['AUTH_SYS machine name of 256 bytes', sys(`00000000 00000100 ${'61'.repeat(256)} 00000000 00000000 00000000`), none, AuthStat.AUTH_BADCRED],
    ['AUTH_SYS with 17 gids', sys(`00000000 00000000 00000000 00000000 00000011 ${'00000001'.repeat(17)}`), none, AuthStat.AUTH_BADCRED],
    ['AUTH_SYS truncated', sys('00000000 00000000 00000000'), none, AuthStat.AUTH_BADCRED],
    ['AUTH_SYS with trailing bytes', sys('00000000 00000000 00000000 00000000 00000000 00000000'), none, AuthStat.AUTH_BADCRED],
    ['AUTH_SYS with an AUTH_SYS verifier', sys('00000000 00000000 00000000 00000000 00000000'), sys(''), AuthStat.AUTH_BADVERF],
    ['AUTH_NONE with a non-empty verifier', none, { flavor: 0, body: hex('00000001') }, AuthStat.AUTH_BADVERF],
    ['AUTH_SHORT', { flavor: 2, body: hex('00000001') }, none, AuthStat.AUTH_REJECTEDCRED],
    ['AUTH_DH', { flavor: 3, body: hex('00000001') }, none, AuthStat.AUTH_REJECTEDCRED],
    ['RPCSEC_GSS', { flavor: 6, body: hex('00000001') }, none, AuthStat.AUTH_REJECTEDCRED],
  ];
  for (const [name, cred, verf, stat] of rejected) {
    it(`[error] ${name} → auth_stat ${stat}`, () => assert.deepEqual(authenticate(cred, verf), { ok: false, stat }));
  }
});
