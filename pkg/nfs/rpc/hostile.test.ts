// Clients that try to exhaust the server: connections that trickle bytes or sit idle to fill
// the connection table, and clients that send calls but never read the replies. Timeouts and
// limits are set small here so that each case takes seconds; the defaults are in server.ts.
import assert from 'node:assert/strict';
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { XdrWriter } from '../xdr';
import { RpcServer, type RpcServerOptions } from './server';
import { RpcTestClient } from '../../../test/support/rpc-client';
import { Gates, TEST_PROGRAM, TEST_VERSION, TestProc, captureLogger, createTestProgram, turns, until } from '../../../test/support/rpc-test-program';

const u32 = (n: number): Buffer => new XdrWriter(4).uint32(n).toBuffer();
const MiB = 1024 * 1024;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function rawConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
}

async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  const value = await p;
  return { value, ms: Date.now() - t0 };
}

describe('RpcServer against hostile clients', function () {
  this.timeout(30_000);
  const logs = captureLogger();
  let server: RpcServer;
  let port: number;
  let gates: Gates;
  const sockets: net.Socket[] = [];
  const clients: RpcTestClient[] = [];

  async function start(o: Partial<RpcServerOptions>): Promise<void> {
    gates = new Gates();
    logs.entries.length = 0;
    server = new RpcServer({ programs: [createTestProgram(gates)], logger: logs.logger, ...o });
    ({ port } = await server.listen('127.0.0.1', 0));
  }

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });

  it('connections trickling a byte at a time neither lock new clients out nor stay open', async () => {
    await start({ maxConnections: 16, recordTimeoutMs: 1000 });
    // 16 connections, each announcing a 100-byte record and sending one byte of it every 100 ms.
    for (let i = 0; i < 16; i++) {
      const s = await rawConnect(port);
      s.on('error', () => undefined);
      s.write(u32((0x80000000 | 100) >>> 0));
      sockets.push(s);
    }
    const trickle = setInterval(() => sockets.forEach((s) => s.writable && s.write(Buffer.from([0]))), 100);
    try {
      await until(() => server.connectionCount === 16, '16 trickling connections');
      const fresh = await RpcTestClient.connect(port);
      clients.push(fresh);
      const { value, ms } = await timed(fresh.call(TEST_PROGRAM, TEST_VERSION, TestProc.NULL));
      assert.equal(value.acceptStat, 0);
      assert.ok(ms < 1000, `a new client waited ${ms} ms`);
      // Past the record deadline the tricklers are closed; the new client stays.
      await Promise.all(sockets.map((s) => new Promise((r) => (s.destroyed ? r(undefined) : s.once('close', r)))));
      assert.equal(server.connectionCount, 1);
      assert.equal((await fresh.call(TEST_PROGRAM, TEST_VERSION, TestProc.NULL)).acceptStat, 0);
      const named = logs.entries.filter((e) => e.level === 'warn' && e.client === '127.0.0.1' && e.reason === 'slow-record');
      assert.equal(named.length, 1, 'one line per client and reason (rate-limited), naming the offender');
      assert.equal(named[0]!.message, 'closed a connection: a record was not completed in time (a slow or stalled client)');
    } finally {
      clearInterval(trickle);
    }
  });

  it('closes a connection that sends nothing for the idle timeout, quietly', async () => {
    await start({ idleTimeoutMs: 300 });
    const s = await rawConnect(port);
    sockets.push(s);
    const { ms } = await timed(new Promise((r) => s.once('close', r)));
    assert.ok(ms >= 250 && ms < 3000, `closed after ${ms} ms`);
    assert.equal(logs.entries.filter((e) => e.level === 'warn').length, 0);
  });

  it('clients that never read their replies hold bounded memory, and a new client is served', async () => {
    const perConnection = 4 * MiB;
    const total = 12 * MiB;
    await start({ maxReplyBytesPerConnection: perConnection, maxReplyBytesTotal: total, replyStallTimeoutMs: 4000 });
    gc();
    const rssBefore = process.memoryUsage().rss;
    // 6 clients send 64 calls each for a 1 MiB reply and read nothing: 384 MiB if unbounded.
    const hogs = await Promise.all(Array.from({ length: 6 }, () => RpcTestClient.connect(port)));
    clients.push(...hogs);
    for (const h of hogs) {
      h.socket.pause();
      for (let i = 0; i < 64; i++) void h.call(TEST_PROGRAM, TEST_VERSION, TestProc.BIG, u32(MiB)).catch(() => undefined);
    }
    let seen = -1;
    while (seen !== gates.bigs) {
      seen = gates.bigs;
      await turns(3000);
    }
    gc();
    const grown = process.memoryUsage().rss - rssBefore;
    assert.ok(server.replyBytesHeld <= total + 6 * 64 * 1024, `reply memory held: ${server.replyBytesHeld}`);
    assert.ok(grown < 96 * MiB, `RSS grew by ${Math.round(grown / MiB)} MiB with ${gates.bigs} replies made`);
    assert.ok(gates.bigs < 64, `handled ${gates.bigs} of 384 calls with nobody reading`);

    // A new client's small calls go through at once; its 1 MiB call once the hogs are closed.
    const fresh = await RpcTestClient.connect(port);
    clients.push(fresh);
    const small = await timed(fresh.call(TEST_PROGRAM, TEST_VERSION, TestProc.NULL));
    assert.ok(small.ms < 1000, `NULL waited ${small.ms} ms`);
    const big = await timed(fresh.call(TEST_PROGRAM, TEST_VERSION, TestProc.BIG, u32(MiB)));
    assert.equal(big.value.acceptStat, 0);
    assert.ok(big.ms < 8000, `1 MiB call waited ${big.ms} ms`);
    // Closed for not reading: the ones that held replies (others then get memory, make
    // replies nobody reads, and are closed in their turn).
    assert.ok(logs.entries.some((e) => e.level === 'warn' && e.reason === 'replies-not-read' && e.message === 'closed a connection: the client does not read its replies'));
    for (const h of hogs) h.close();
    await until(() => server.replyBytesHeld === 0, 'all reply memory given back');
  });

  it('a client that reads slowly still gets every reply, in bounded memory', async () => {
    await start({ maxReplyBytesPerConnection: 2 * MiB, maxReplyBytesTotal: 4 * MiB });
    const c = await RpcTestClient.connect(port);
    clients.push(c);
    c.socket.pause();
    const replies = Array.from({ length: 32 }, () => c.call(TEST_PROGRAM, TEST_VERSION, TestProc.BIG, u32(MiB)));
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, server.replyBytesHeld)), 5);
    try {
      await turns(2000);
      c.socket.resume();
      const got = await Promise.all(replies);
      assert.deepEqual(new Set(got.map((r) => r.results.opaque(2 * MiB).length)), new Set([MiB]));
      assert.ok(peak <= 2 * MiB + 64, `peak reply memory ${peak}`);
    } finally {
      clearInterval(watch);
    }
  });
});
