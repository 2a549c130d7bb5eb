// Fuzzing the RPC server (and MOUNT behind it) over TCP with a seeded PRNG, so every run sends
// the same bytes: random garbage, valid records with bits flipped, truncated records, bogus
// and huge fragment marks, floods of tiny fragments, header fields replaced with edge values.
// Afterwards the server must still answer NULL correctly, every connection must be gone,
// no handler may have failed with anything but XdrError (a RangeError from a bad offset would
// show up as SYSTEM_ERR), and memory must not have grown without bound.
import assert from 'node:assert/strict';
import net from 'node:net';
import { ExportRegistry } from '../exports';
import { HandleCodec } from '../handles';
import { createMountProgram } from '../mount';
import { XdrWriter } from '../xdr';
import { RecordDecoder } from './record';
import { RpcServer } from './server';
import { FakeRootOnlyFs } from '../../../test/support/fake-root-only-fs';
import { RpcTestClient, authSys, encodeCall, parseReply } from '../../../test/support/rpc-client';
import { Gates, TEST_PROGRAM, TEST_VERSION, TestProc, captureLogger, createTestProgram, until } from '../../../test/support/rpc-test-program';

const SEED = 0x5eed1e55;
const CONNECTIONS = 5000;
const PARALLEL = 16;
const MAX_RECORD = 256 * 1024;

/** mulberry32: small, fast, good enough to pick mutations. */
function prng(seed: number): { next(): number; int(n: number): number; bytes(n: number): Buffer } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const bytes = (n: number): Buffer => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  return { next, int, bytes };
}
type Rng = ReturnType<typeof prng>;

const u32 = (n: number): Buffer => new XdrWriter(4).uint32(n).toBuffer();
const frame = (m: Buffer): Buffer => Buffer.concat([u32((0x80000000 | m.length) >>> 0), m]);
const str = (s: string): Buffer => Buffer.from(new XdrWriter().string(s).toBuffer());

/** Valid calls to both programs; the mutations start from these. */
function corpus(): Buffer[] {
  const cred = authSys({ machineName: 'fuzz', uid: 1000, gid: 1000, gids: [1, 2, 3] });
  const opts = { cred };
  return [
    encodeCall(1, TEST_PROGRAM, TEST_VERSION, TestProc.NULL, Buffer.alloc(0), opts),
    encodeCall(2, TEST_PROGRAM, TEST_VERSION, TestProc.ECHO, Buffer.from(new XdrWriter().opaque(Buffer.from('hello fuzz')).toBuffer()), opts),
    encodeCall(3, TEST_PROGRAM, TEST_VERSION, TestProc.WHOAMI, Buffer.alloc(0), opts),
    encodeCall(4, TEST_PROGRAM, TEST_VERSION, TestProc.GATED, u32(9), opts),
    encodeCall(9, TEST_PROGRAM, TEST_VERSION, TestProc.FAIL, Buffer.alloc(0), opts),
    encodeCall(5, 100005, 3, 1, str('/data'), opts),
    encodeCall(6, 100005, 3, 2, Buffer.alloc(0), opts),
    encodeCall(7, 100005, 3, 3, str('/data'), opts),
    encodeCall(8, 100005, 3, 5, Buffer.alloc(0), opts),
  ];
}

const EDGE_VALUES = [0, 1, 2, 3, 6, 400, 401, 0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff];

/** One connection's worth of input, chosen by the PRNG; most inputs get past record marking. */
function fuzzInput(rng: Rng, calls: Buffer[]): Buffer {
  const pick = (): Buffer => Buffer.from(calls[rng.int(calls.length)]!);
  const flip = (b: Buffer, from: number): Buffer => {
    for (let i = 1 + rng.int(16); i > 0; i--) b[from + rng.int(b.length - from)]! ^= 1 << rng.int(8);
    return b;
  };
  switch (rng.int(14)) {
    case 0: // random bytes
      return rng.bytes(1 + rng.int(4096));
    case 1: // bit flips anywhere, the record mark included
      return flip(frame(pick()), 0);
    case 2:
    case 3:
    case 4: // bit flips in the message only: header, credentials, arguments
      return flip(frame(pick()), 4);
    case 5: // a stream cut inside a record, or a complete record holding a cut message
      return rng.next() < 0.3 ? frame(pick()).subarray(0, rng.int(60)) : frame(pick().subarray(0, rng.int(60)));
    case 6: // bogus fragment length, then some bytes
      return Buffer.concat([u32(rng.int(2 ** 32)), rng.bytes(rng.int(512))]);
    case 7: // huge fragment marks
      return u32([0x7fffffff, 0xffffffff, (0x80000000 | (MAX_RECORD + 1)) >>> 0, MAX_RECORD + 1][rng.int(4)]!);
    case 8: {
      // a valid call chopped into many tiny fragments (too many past MAX_FRAGMENTS_PER_RECORD)
      const m = pick();
      const parts: Buffer[] = [];
      for (let i = 0; i < m.length; ) {
        const n = Math.min(rng.int(4), m.length - i);
        parts.push(u32(i + n >= m.length ? (0x80000000 | n) >>> 0 : n), m.subarray(i, i + n));
        i += n;
      }
      for (let i = rng.int(1500); i > 0; i--) parts.unshift(u32(0));
      return Buffer.concat(parts);
    }
    case 9:
    case 10:
    case 11: {
      // one or two header or argument words replaced with edge values
      const m = pick();
      for (let i = 1 + rng.int(2); i > 0; i--) m.writeUInt32BE(EDGE_VALUES[rng.int(EDGE_VALUES.length)]!, 4 * rng.int(m.length / 4));
      return frame(m);
    }
    case 12: // valid calls, then garbage
      return Buffer.concat([frame(pick()), frame(pick()), rng.bytes(rng.int(256))]);
    default: // a REPLY
      return frame(Buffer.concat([u32(rng.int(2 ** 32)), u32(1), rng.bytes(rng.int(64))]));
  }
}

interface Plan {
  input: Buffer;
  /** Offsets at which the input is split into separate writes. */
  cuts: number[];
  /** Reset the connection right after writing instead of half-closing it. */
  reset: boolean;
}

function plan(rng: Rng, calls: Buffer[]): Plan {
  const input = fuzzInput(rng, calls);
  const cuts = [0];
  for (let i = rng.int(4); i > 0; i--) cuts.push(rng.int(input.length + 1));
  cuts.push(input.length);
  cuts.sort((x, y) => x - y);
  return { input, cuts, reset: rng.next() < 0.2 };
}

/**
 * Sends the input in pieces, then half-closes or resets. Resolves with the kinds of the
 * replies that came back; every reply must parse, or the promise rejects.
 */
function runConnection(port: number, { input, cuts, reset }: Plan): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const kinds: string[] = [];
    const replies = new RecordDecoder(16 * 1024 * 1024);
    let bad: Error | undefined;
    const s = net.connect({ port, host: '127.0.0.1' }, () => {
      for (let i = 1; i < cuts.length; i++) s.write(input.subarray(cuts[i - 1], cuts[i]));
      if (reset) setImmediate(() => s.resetAndDestroy());
      else s.end();
    });
    s.on('data', (d: Buffer) => {
      try {
        replies.push(d);
        for (let rec = replies.next(); rec; rec = replies.next()) {
          const r = parseReply(rec);
          kinds.push(r.replyStat === 0 ? `accepted ${r.acceptStat}` : `denied ${r.rejectStat}/${r.authStat ?? '-'}`);
        }
      } catch (err) {
        bad = err as Error;
      }
    });
    s.on('error', () => {});
    s.on('close', () => (bad ? reject(bad) : resolve(kinds)));
  });
}

describe('RPC server fuzz (seeded)', function () {
  this.timeout(120_000);

  it('survives random and mutated input on many connections and still answers NULL', async () => {
    const logs = captureLogger();
    const exports = new ExportRegistry();
    exports.add('data', new FakeRootOnlyFs(1, 1).asFileSystem());
    const server = new RpcServer({
      programs: [createTestProgram(new Gates(true)), createMountProgram({ exports, handles: new HandleCodec(Buffer.alloc(32, 1)), logger: logs.logger })],
      maxRecordBytes: MAX_RECORD,
      logger: logs.logger,
    });
    const { port } = await server.listen('127.0.0.1', 0);
    try {
      const rng = prng(SEED);
      const calls = corpus();
      const plans = Array.from({ length: CONNECTIONS }, () => plan(rng, calls));
      const rssBefore = process.memoryUsage().rss;
      let next = 0;
      const seen = new Map<string, number>();
      await Promise.all(
        Array.from({ length: PARALLEL }, async () => {
          while (next < plans.length) {
            for (const kind of await runConnection(port, plans[next++]!)) seen.set(kind, (seen.get(kind) ?? 0) + 1);
          }
        }),
      );
      const rssGrowth = process.memoryUsage().rss - rssBefore;

      const client = await RpcTestClient.connect(port);
      const r = await client.call(TEST_PROGRAM, TEST_VERSION, TestProc.NULL, Buffer.alloc(0), { xid: 0xc0ffee });
      assert.equal(r.raw.toString('hex'), '00c0ffee00000001000000000000000000000000' + '00000000');
      client.close();
      await until(() => server.connectionCount === 0, 'every fuzz connection to be closed');

      // The fuzzer reached every kind of reply (SUCCESS, PROG_UNAVAIL, PROG_MISMATCH,
      // PROC_UNAVAIL, GARBAGE_ARGS, SYSTEM_ERR from FAIL, RPC_MISMATCH, AUTH_ERROR ×3).
      const expected = ['accepted 0', 'accepted 1', 'accepted 2', 'accepted 3', 'accepted 4', 'accepted 5', 'denied 0/-', 'denied 1/1', 'denied 1/2', 'denied 1/3'];
      assert.deepEqual(expected.filter((k) => !seen.has(k)), [], `reply kinds seen: ${JSON.stringify([...seen])}`);
      const errors = logs.entries.filter(
        (e) => e.level === 'error' && !(e.message === 'procedure failed' && e.program === 'test' && e.procedure === TestProc.FAIL),
      );
      assert.deepEqual(errors, [], 'only the FAIL procedure may log errors');
      assert.ok(rssGrowth < 256 * 1024 * 1024, `rss grew by ${Math.round(rssGrowth / 1048576)} MiB`);
    } finally {
      await server.close();
    }
  });
});
