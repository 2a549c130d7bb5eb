// A small ONC RPC client over TCP for tests: builds CALL messages byte by byte, frames them,
// and matches replies by xid. It uses the server's record decoder for replies, but builds
// calls and parses replies independently of the server's message code.
import net from 'node:net';
import { XdrReader, XdrWriter } from '../../pkg/nfs/xdr';
import { RecordDecoder, frameRecord } from '../../pkg/nfs/rpc/record';
import type { AuthSys } from '../../pkg/nfs/rpc/program';

export interface TestAuth {
  flavor: number;
  body: Buffer;
}

export const NONE_AUTH: TestAuth = { flavor: 0, body: Buffer.alloc(0) };

export function authSys(a: Partial<AuthSys> = {}): TestAuth {
  const w = new XdrWriter(64)
    .uint32(a.stamp ?? 0)
    .string(a.machineName ?? 'client')
    .uint32(a.uid ?? 0)
    .uint32(a.gid ?? 0);
  const gids = a.gids ?? [];
  w.uint32(gids.length);
  for (const g of gids) w.uint32(g);
  return { flavor: 1, body: Buffer.from(w.toBuffer()) };
}

export interface CallOptions {
  xid?: number;
  cred?: TestAuth;
  verf?: TestAuth;
  rpcvers?: number;
}

/** An unframed CALL message. */
export function encodeCall(xid: number, prog: number, vers: number, proc: number, args: Buffer, o: CallOptions = {}): Buffer {
  const cred = o.cred ?? authSys();
  const verf = o.verf ?? NONE_AUTH;
  const w = new XdrWriter(128)
    .uint32(xid)
    .uint32(0)
    .uint32(o.rpcvers ?? 2)
    .uint32(prog)
    .uint32(vers)
    .uint32(proc)
    .uint32(cred.flavor)
    .opaque(cred.body)
    .uint32(verf.flavor)
    .opaque(verf.body)
    .fixedOpaque(args);
  return Buffer.from(w.toBuffer());
}

export interface ParsedReply {
  xid: number;
  /** 0 MSG_ACCEPTED, 1 MSG_DENIED */
  replyStat: number;
  acceptStat?: number;
  rejectStat?: number;
  authStat?: number;
  /** low/high of PROG_MISMATCH or RPC_MISMATCH */
  mismatch?: { low: number; high: number };
  /** Positioned at the procedure's results when acceptStat is SUCCESS. */
  results: XdrReader;
  raw: Buffer;
}

/** Parses a reply message (RFC 5531 §9) without the server's code. */
export function parseReply(raw: Buffer): ParsedReply {
  const r = new XdrReader(raw);
  const xid = r.uint32();
  if (r.uint32() !== 1) throw new Error('not a REPLY');
  const replyStat = r.uint32();
  const out: ParsedReply = { xid, replyStat, results: r, raw };
  if (replyStat === 0) {
    r.uint32(); // verifier flavor
    r.opaque(400);
    out.acceptStat = r.uint32();
    if (out.acceptStat === 2) out.mismatch = { low: r.uint32(), high: r.uint32() };
  } else {
    out.rejectStat = r.uint32();
    if (out.rejectStat === 0) out.mismatch = { low: r.uint32(), high: r.uint32() };
    else out.authStat = r.uint32();
  }
  return out;
}

interface Waiter {
  resolve(reply: ParsedReply): void;
  reject(err: Error): void;
}

export class RpcTestClient {
  private readonly decoder = new RecordDecoder(16 * 1024 * 1024);
  private readonly waiting = new Map<number, Waiter>();
  private nextXid = 1;
  /** Replies whose xid nobody waited for. */
  readonly unmatched: ParsedReply[] = [];
  /** Resolves when the server (or we) closed the connection. */
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        for (const w of this.waiting.values()) w.reject(new Error('connection closed'));
        this.waiting.clear();
        resolve();
      }),
    );
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RpcTestClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host, noDelay: true }, () => {
        socket.off('error', reject);
        resolve(new RpcTestClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Sends a CALL and resolves with its reply. */
  call(prog: number, vers: number, proc: number, args: Buffer = Buffer.alloc(0), o: CallOptions = {}): Promise<ParsedReply> {
    const xid = o.xid ?? this.nextXid++;
    const reply = this.expect(xid);
    this.send(encodeCall(xid, prog, vers, proc, args, o));
    return reply;
  }

  /** Resolves with the reply carrying `xid` (register before sending). */
  expect(xid: number): Promise<ParsedReply> {
    return new Promise((resolve, reject) => this.waiting.set(xid, { resolve, reject }));
  }

  /** Frames one message as a single fragment and sends it. */
  send(message: Buffer): void {
    this.socket.write(Buffer.concat(frameRecord([message])));
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    for (let rec = this.decoder.next(); rec; rec = this.decoder.next()) {
      const reply = parseReply(rec);
      const w = this.waiting.get(reply.xid);
      if (w) {
        this.waiting.delete(reply.xid);
        w.resolve(reply);
      } else {
        this.unmatched.push(reply);
      }
    }
  }
}
