// The RPC server over real TCP sockets on 127.0.0.1: pipelining, out-of-order completion,
// flow control, several connections, and the exact bytes of every error reply.
import assert from 'node:assert/strict';
import { XdrWriter } from '../xdr';
import { RpcServer } from './server';
import { RpcTestClient, authSys, encodeCall, NONE_AUTH } from '../../../test/support/rpc-client';
import {
  Gates,
  TEST_PROGRAM,
  TEST_VERSION,
  TEST_VERSION_WITHOUT_NULL,
  TestProc,
  captureLogger,
  createTestProgram,
  turns,
  until,
} from '../../../test/support/rpc-test-program';

const hex = (s: string): string => s.replace(/\s+/g, '');
const u32 = (n: number): Buffer => new XdrWriter(4).uint32(n).toBuffer();
const opaqueArg = (b: Buffer): Buffer => Buffer.from(new XdrWriter().opaque(b).toBuffer());
const xidHex = (xid: number): string => xid.toString(16).padStart(8, '0');
/** xid, REPLY, MSG_ACCEPTED, verifier AUTH_NONE (flavor 0, length 0). */
const accepted = (xid: number): string => `${xidHex(xid)} 00000001 00000000 00000000 00000000`;

describe('RpcServer', () => {
  let server: RpcServer;
  let port: number;
  let gates: Gates;
  const clients: RpcTestClient[] = [];
  const logs = captureLogger();

  async function connect(p = port): Promise<RpcTestClient> {
    const c = await RpcTestClient.connect(p);
    clients.push(c);
    return c;
  }

  beforeEach(async () => {
    gates = new Gates();
    logs.entries.length = 0;
    server = new RpcServer({ programs: [createTestProgram(gates)], maxRecordBytes: 2 * 1024 * 1024, logger: logs.logger });
    ({ port } = await server.listen('127.0.0.1', 0));
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (let tag = 0; tag < 1000; tag++) gates.open(tag);
    await server.close();
  });

  it('listens on an ephemeral port of 127.0.0.1', async () => {
    assert.ok(port > 0);
    const other = new RpcServer({ programs: [createTestProgram()], logger: logs.logger });
    await assert.rejects(other.listen('127.0.0.1', port), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
    await other.close();
  });

  it('answers NULL with exactly the SUCCESS header and no results', async () => {
    const c = await connect();
    const r = await c.call(TEST_PROGRAM, TEST_VERSION, TestProc.NULL, Buffer.alloc(0), { xid: 0x0a0b0c0d });
    assert.equal(r.raw.toString('hex'), hex(`${accepted(0x0a0b0c0d)} 00000000`));
  });

  it('passes AUTH_SYS credentials and the peer address to the handler', async () => {
    const c = await connect();
    const cred = authSys({ stamp: 9, machineName: 'worker-7', uid: 1000, gid: 100, gids: [4, 27] });
    const r = await c.call(TEST_PROGRAM, TEST_VERSION, TestProc.WHOAMI, Buffer.alloc(0), { cred, xid: 5 });
    const res = r.results;
    assert.equal(r.acceptStat, 0);
    assert.deepEqual(
      [res.uint32(), res.bool(), res.uint32(), res.string(255), res.uint32(), res.uint32(), res.array(16, () => res.uint32())],
      [1, true, 9, 'worker-7', 1000, 100, [4, 27]],
    );
    assert.deepEqual([res.string(255), res.uint32(), res.uint32(), res.uint32(), res.uint32()], ['127.0.0.1', 5, TEST_PROGRAM, 2, 5]);
  });

  it('AUTH_NONE callers get flavor 0 and no AUTH_SYS fields', async () => {
    const c = await connect();
    const r = await c.call(TEST_PROGRAM, TEST_VERSION, TestProc.WHOAMI, Buffer.alloc(0), { cred: NONE_AUTH });
    assert.deepEqual([r.results.uint32(), r.results.bool()], [0, false]);
  });

  describe('error replies, byte for byte, on a connection that stays usable', () => {
    const bad = authSys({ machineName: 'x' });
    const cases: Array<[string, Buffer, string]> = [
      ['[error] unknown program → PROG_UNAVAIL', encodeCall(7, 0x20000099, 1, 0, Buffer.alloc(0)), `${accepted(7)} 00000001`],
      ['[error] unsupported version → PROG_MISMATCH low 2 high 4', encodeCall(7, TEST_PROGRAM, 3, 0, Buffer.alloc(0)), `${accepted(7)} 00000002 00000002 00000004`],
      ['[error] unknown procedure → PROC_UNAVAIL', encodeCall(7, TEST_PROGRAM, TEST_VERSION, 99, Buffer.alloc(0)), `${accepted(7)} 00000003`],
      ['[error] handler throws XdrError → GARBAGE_ARGS', encodeCall(7, TEST_PROGRAM, TEST_VERSION, TestProc.GARBAGE, Buffer.alloc(0)), `${accepted(7)} 00000004`],
      ['[error] arguments too short → GARBAGE_ARGS', encodeCall(7, TEST_PROGRAM, TEST_VERSION, TestProc.ECHO, u32(100)), `${accepted(7)} 00000004`],
      ['[error] handler throws Error → SYSTEM_ERR', encodeCall(7, TEST_PROGRAM, TEST_VERSION, TestProc.FAIL, Buffer.alloc(0)), `${accepted(7)} 00000005`],
      ['[error] rpcvers 3 → MSG_DENIED RPC_MISMATCH 2..2', encodeCall(7, TEST_PROGRAM, TEST_VERSION, 0, Buffer.alloc(0), { rpcvers: 3 }), '00000007 00000001 00000001 00000000 00000002 00000002'],
      ['[error] malformed AUTH_SYS → AUTH_ERROR AUTH_BADCRED', encodeCall(7, TEST_PROGRAM, TEST_VERSION, 0, Buffer.alloc(0), { cred: { flavor: 1, body: bad.body.subarray(0, 8) } }), '00000007 00000001 00000001 00000001 00000001'],
      ['[error] RPCSEC_GSS → AUTH_ERROR AUTH_REJECTEDCRED', encodeCall(7, TEST_PROGRAM, TEST_VERSION, 0, Buffer.alloc(0), { cred: { flavor: 6, body: u32(1) } }), '00000007 00000001 00000001 00000001 00000002'],
      ['[error] AUTH_SYS verifier → AUTH_ERROR AUTH_BADVERF', encodeCall(7, TEST_PROGRAM, TEST_VERSION, 0, Buffer.alloc(0), { verf: bad }), '00000007 00000001 00000001 00000001 00000003'],
      ['NULL of a version whose table lacks it → SUCCESS', encodeCall(7, TEST_PROGRAM, TEST_VERSION_WITHOUT_NULL, 0, Buffer.alloc(0)), `${accepted(7)} 00000000`],
    ];
    for (const [name, call, expected] of cases) {
      it(name, async () => {
        const c = await connect();
        const reply = c.expect(7);
        c.send(call);
        assert.equal((await reply).raw.toString('hex'), hex(expected));
        assert.equal((await c.call(TEST_PROGRAM, TEST_VERSION, TestProc.NULL)).acceptStat, 0);
      });
    }
  });

  it('logs SYSTEM_ERR with structured fields and without the arguments', async () => {
    const c = await connect();
    await c.call(TEST_PROGRAM, TEST_VERSION, TestProc.FAIL, opaqueArg(Buffer.from('top-secret-payload')), { xid: 31 });
    const entry = logs.entries.find((e) => e.message === 'procedure failed');
    assert.ok(entry, 'an error entry');
    assert.equal(entry.level, 'error');
    assert.deepEqual([entry.program, entry.version, entry.procedure, entry.xid, entry.error], ['test', 2, 4, 31, 'Error: disk on fire']);
    assert.ok(!JSON.stringify(logs.entries).includes('top-secret'));
  });

  it('answers many pipelined calls sent in one write, each under its own xid', async () => {
    const c = await connect();
    const n = 200;
    const replies = Array.from({ length: n }, (_, i) => c.expect(1000 + i));
    const calls = Array.from({ length: n }, (_, i) => encodeCall(1000 + i, TEST_PROGRAM, TEST_VERSION, TestProc.ECHO, opaqueArg(Buffer.from(`payload ${i}`))));
    c.writeRaw(Buffer.concat(calls.map((m) => Buffer.concat([u32((0x80000000 | m.length) >>> 0), m]))));
    const got = await Promise.all(replies);
    got.forEach((r, i) => assert.equal(r.results.opaque(64).toString(), `payload ${i}`));
    assert.equal(c.unmatched.length, 0);
  });

  it('sends replies in completion order, not arrival order', async () => {
    const c = await connect();
    const order: number[] = [];
    const replies = [1, 2, 3, 4, 5].map((tag) => c.call(TEST_PROGRAM, TEST_VERSION, TestProc.GATED, u32(tag), { xid: tag }).then((r) => order.push(r.xid)));
    await until(() => gates.started.length === 5, 'all five calls to start');
    for (const tag of [5, 3, 1, 4, 2]) gates.open(tag);
    await Promise.all(replies);
    assert.deepEqual(order, [5, 3, 1, 4, 2]);
  });

  it('runs at most maxInFlightPerConnection calls at once and resumes as they finish', async () => {
    await server.close();
    server = new RpcServer({ programs: [createTestProgram(gates)], maxInFlightPerConnection: 3, logger: logs.logger });
    ({ port } = await server.listen('127.0.0.1', 0));
    const c = await connect();
    const replies = [1, 2, 3, 4, 5, 6].map((tag) => c.call(TEST_PROGRAM, TEST_VERSION, TestProc.GATED, u32(tag)));
    await until(() => gates.started.length === 3, 'three calls to start');
    await turns(200);
    assert.deepEqual(gates.started, [1, 2, 3]);
    gates.open(2);
    await until(() => gates.started.length === 4, 'a fourth call once one finished');
    assert.deepEqual(gates.started, [1, 2, 3, 4]);
    for (const tag of [1, 3, 4, 5, 6]) gates.open(tag);
    assert.equal((await Promise.all(replies)).length, 6);
  });

  it('stops starting calls for a client that sends but does not read its replies', async () => {
    await server.close();
    server = new RpcServer({ programs: [createTestProgram(gates)], maxRecordBytes: 2 * 1024 * 1024, logger: logs.logger });
    ({ port } = await server.listen('127.0.0.1', 0));
    const c = await connect();
    c.socket.pause();
    const n = 64;
    const payload = opaqueArg(Buffer.alloc(1024 * 1024, 7));
    const replies = Array.from({ length: n }, () => c.call(TEST_PROGRAM, TEST_VERSION, TestProc.ECHO, payload));
    // Wait until the server has stopped making progress, then check it stopped early: the
    // kernel buffers hold a few MiB of replies, far from the 64 MiB a server without write
    // back-pressure would have produced.
    let seen = -1;
    while (seen !== gates.echoes) {
      seen = gates.echoes;
      await turns(2000);
    }
    assert.ok(gates.echoes < n / 2, `handled ${gates.echoes} of ${n} calls with nobody reading`);
    c.socket.resume();
    assert.equal((await Promise.all(replies)).length, n);
  });

  it('serves several connections from one client at once (nconnect)', async () => {
    const cs = await Promise.all(Array.from({ length: 8 }, () => connect()));
    const results = await Promise.all(
      cs.flatMap((c, ci) => Array.from({ length: 25 }, (_, i) => c.call(TEST_PROGRAM, TEST_VERSION, TestProc.ECHO, opaqueArg(Buffer.from(`${ci}/${i}`))).then((r) => r.results.opaque(16).toString()))),
    );
    assert.equal(results.length, 200);
    assert.equal(results[8 * 25 - 1], '7/24');
    assert.equal(server.connectionCount, 8);
    for (const c of cs) c.close();
    await until(() => server.connectionCount === 0, 'connections to be forgotten');
  });

  it('at maxConnections a new connection is served and the least recently active one closed', async () => {
    const capped = new RpcServer({ programs: [createTestProgram()], maxConnections: 2, logger: logs.logger });
    const { port: p } = await capped.listen('127.0.0.1', 0);
    try {
      const [a, b] = [await connect(p), await connect(p)];
      await until(() => capped.connectionCount === 2, 'two connections');
      assert.equal((await b.call(TEST_PROGRAM, TEST_VERSION, 0)).acceptStat, 0); // b is the active one
      const extra = await connect(p);
      assert.equal((await extra.call(TEST_PROGRAM, TEST_VERSION, 0)).acceptStat, 0);
      await a.closed;
      assert.equal((await b.call(TEST_PROGRAM, TEST_VERSION, 0)).acceptStat, 0);
      assert.equal(capped.connectionCount, 2);
      assert.ok(logs.entries.some((e) => e.message === 'too many connections: closed the least recently active one' && e.client === '127.0.0.1'));
    } finally {
      await capped.close();
    }
  });

  it('echoes a 1 MiB payload intact (multi-chunk record in, zero-copy reply out)', async () => {
    const c = await connect();
    const payload = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < payload.length; i += 4) payload.writeUInt32BE(i, i);
    const r = await c.call(TEST_PROGRAM, TEST_VERSION, TestProc.ECHO, opaqueArg(payload));
    assert.ok(r.results.opaque(2 * 1024 * 1024).equals(payload));
  });

  it('reassembles a call sent as several fragments', async () => {
    const c = await connect();
    const call = encodeCall(44, TEST_PROGRAM, TEST_VERSION, TestProc.ECHO, opaqueArg(Buffer.from('fragmented')));
    const reply = c.expect(44);
    c.writeRaw(Buffer.concat([u32(10), call.subarray(0, 10), u32(0), u32((0x80000000 | (call.length - 10)) >>> 0), call.subarray(10)]));
    assert.equal((await reply).results.opaque(64).toString(), 'fragmented');
  });

  it('drops a REPLY sent by a client and keeps serving the connection', async () => {
    const c = await connect();
    c.send(Buffer.from(hex('0000004d 00000001 00000000 00000000 00000000 00000000'), 'hex'));
    const r = await c.call(TEST_PROGRAM, TEST_VERSION, TestProc.NULL, Buffer.alloc(0), { xid: 78 });
    assert.equal(r.xid, 78);
    assert.equal(c.unmatched.length, 0);
  });

  it('[error] closes a connection whose record is too short for an xid; others go on', async () => {
    const [bad, good] = [await connect(), await connect()];
    bad.send(Buffer.from([1, 2, 3]));
    await bad.closed;
    assert.equal((await good.call(TEST_PROGRAM, TEST_VERSION, TestProc.NULL)).acceptStat, 0);
  });

  it('[error] closes a connection announcing an oversize fragment, before its bytes arrive', async () => {
    const [bad, good] = [await connect(), await connect()];
    bad.writeRaw(u32((0x80000000 | (2 * 1024 * 1024 + 1)) >>> 0));
    await bad.closed;
    assert.equal((await good.call(TEST_PROGRAM, TEST_VERSION, TestProc.NULL)).acceptStat, 0);
    assert.ok(logs.entries.some((e) => e.message === 'closing connection: bad record' && e.level === 'warn'));
  });

  it('[error] closes a connection whose fragments add up to more than the maximum', async () => {
    const bad = await connect();
    bad.writeRaw(Buffer.concat([u32(1024 * 1024), Buffer.alloc(1024 * 1024), u32((0x80000000 | (1024 * 1024 + 1)) >>> 0)]));
    await bad.closed;
    assert.equal((await (await connect()).call(TEST_PROGRAM, TEST_VERSION, TestProc.NULL)).acceptStat, 0);
  });

  it('answers calls sent before the client shut down its side, then closes', async () => {
    const c = await connect();
    const reply = c.call(TEST_PROGRAM, TEST_VERSION, TestProc.GATED, u32(1));
    c.socket.end();
    await until(() => gates.started.length === 1, 'the call to start');
    gates.open(1);
    assert.equal((await reply).results.uint32(), 1);
    await c.closed;
  });

  it('survives a client that resets with calls in flight', async () => {
    const c = await connect();
    void c.call(TEST_PROGRAM, TEST_VERSION, TestProc.GATED, u32(1)).catch(() => {});
    await until(() => gates.started.length === 1, 'the call to start');
    c.socket.resetAndDestroy();
    await until(() => server.connectionCount === 0, 'the connection to close');
    gates.open(1);
    await turns(10);
    assert.equal((await (await connect()).call(TEST_PROGRAM, TEST_VERSION, TestProc.NULL)).acceptStat, 0);
  });

  it('close() drops connections and waits for running calls to finish', async () => {
    const c = await connect();
    void c.call(TEST_PROGRAM, TEST_VERSION, TestProc.GATED, u32(1)).catch(() => {});
    await until(() => gates.started.length === 1, 'the call to start');
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await c.closed;
    await turns(50);
    assert.equal(closed, false, 'still waiting for the running call');
    gates.open(1);
    await closing;
    assert.equal(server.connectionCount, 0);
    await assert.rejects(RpcTestClient.connect(port));
  });

  it('[error] refuses two programs with the same number', () => {
    assert.throws(() => new RpcServer({ programs: [createTestProgram(), createTestProgram()] }), /registered twice/);
  });
});
