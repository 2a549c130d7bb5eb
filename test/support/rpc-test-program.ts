// An RPC program for exercising the RPC server: echo, calls that finish when the test says so,
// failures of each kind, and a procedure that reports the caller's credentials back.
import { Writable } from 'node:stream';
import winston from 'winston';
import { XdrError } from '../../pkg/nfs/xdr';
import type { ProcedureHandler, RpcProgram } from '../../pkg/nfs/rpc/program';

/** In the range RFC 5531 §8.3 leaves to users (0x20000000–0x3fffffff). */
export const TEST_PROGRAM = 0x20000042;
/** Versions 2 and 4: PROG_MISMATCH must report low 2, high 4. Version 4 has no NULL entry. */
export const TEST_VERSION = 2;
export const TEST_VERSION_WITHOUT_NULL = 4;

export const TestProc = {
  NULL: 0,
  /** opaque<> → the same opaque (sent back by reference). */
  ECHO: 1,
  /** uint32 tag → the tag, once the test opens that tag's gate. */
  GATED: 2,
  /** → GARBAGE_ARGS (throws XdrError). */
  GARBAGE: 3,
  /** → SYSTEM_ERR (throws a plain Error). */
  FAIL: 4,
  /** → flavor, uid, gid, gids, machine name, remote address of the caller. */
  WHOAMI: 5,
  /** uint32 n → opaque of n fresh bytes: a small call with a large reply, like READ. */
  BIG: 6,
} as const;

/** Gates for GATED calls: each call waits until its tag is opened. */
export class Gates {
  readonly started: number[] = [];
  /** ECHO calls handled so far. */
  echoes = 0;
  /** BIG calls handled so far. */
  bigs = 0;
  private readonly gates = new Map<number, { promise: Promise<void>; open: () => void }>();

  /** With `alwaysOpen`, GATED calls never wait (for fuzzing, where tags are random). */
  constructor(private readonly alwaysOpen = false) {}

  private gate(tag: number): { promise: Promise<void>; open: () => void } {
    let g = this.gates.get(tag);
    if (!g) {
      let open!: () => void;
      const promise = new Promise<void>((resolve) => (open = resolve));
      g = { promise, open };
      this.gates.set(tag, g);
    }
    return g;
  }

  wait(tag: number): Promise<void> {
    if (this.alwaysOpen) return Promise.resolve();
    this.started.push(tag);
    return this.gate(tag).promise;
  }

  open(tag: number): void {
    this.gate(tag).open();
  }
}

export function createTestProgram(gates = new Gates()): RpcProgram {
  const echo: ProcedureHandler = (args, reply) => {
    gates.echoes++;
    reply.opaqueRef(args.opaque(8 * 1024 * 1024));
  };
  const v2 = new Map<number, ProcedureHandler>([
    [TestProc.NULL, () => {}],
    [TestProc.ECHO, echo],
    [
      TestProc.GATED,
      async (args, reply) => {
        const tag = args.uint32();
        await gates.wait(tag);
        reply.uint32(tag);
      },
    ],
    [
      TestProc.GARBAGE,
      () => {
        throw new XdrError('bad discriminant');
      },
    ],
    [
      TestProc.FAIL,
      () => {
        throw new Error('disk on fire');
      },
    ],
    [
      TestProc.BIG,
      (args, reply) => {
        const n = args.uint32();
        if (n > 16 * 1024 * 1024) throw new XdrError('BIG answers at most 16 MiB'); // fuzzed counts
        gates.bigs++;
        reply.opaqueRef(Buffer.alloc(n, 1));
      },
    ],
    [
      TestProc.WHOAMI,
      (_args, reply, ctx) => {
        reply.uint32(ctx.flavor).bool(ctx.authSys !== undefined);
        if (ctx.authSys) {
          const a = ctx.authSys;
          reply.uint32(a.stamp).string(a.machineName).uint32(a.uid).uint32(a.gid).uint32(a.gids.length);
          for (const g of a.gids) reply.uint32(g);
        }
        reply.string(ctx.remoteAddress).uint32(ctx.xid).uint32(ctx.program).uint32(ctx.version).uint32(ctx.procedure);
      },
    ],
  ]);
  const v4 = new Map<number, ProcedureHandler>([[TestProc.ECHO, echo]]);
  return {
    program: TEST_PROGRAM,
    name: 'test',
    // As NFS does for READ: the reply's size is known from the arguments.
    replyBytesBound: (version, procedure, args) => {
      if (args.length < 4) return undefined;
      if (procedure === TestProc.BIG || procedure === TestProc.ECHO) return args.readUInt32BE(0) + 16;
      return undefined;
    },
    versions: new Map([
      [TEST_VERSION, v2],
      [TEST_VERSION_WITHOUT_NULL, v4],
    ]),
  };
}

/** A logger that keeps its entries for assertions instead of printing them. */
export function captureLogger(): { logger: winston.Logger; entries: Array<Record<string, unknown>> } {
  const entries: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    objectMode: true,
    write(info: Record<string, unknown>, _encoding, done) {
      entries.push({ ...info });
      done();
    },
  });
  return { logger: winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] }), entries };
}

/** Lets the event loop run until `cond` holds; fails after `maxTurns` turns. Measures no time. */
export async function until(cond: () => boolean, what: string, maxTurns = 200_000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (cond()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Lets the event loop run `turns` times (to show that something does NOT happen). */
export async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}
