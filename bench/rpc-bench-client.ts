// A lean pipelined ONC RPC client for bench/rpc-bench.ts: many calls in flight on one TCP
// connection, replies matched by xid. It encodes each call straight into one Buffer (record
// mark, header, AUTH_SYS credential built once, arguments) so that the client spends as little
// CPU as possible and the figures are the server's. Replies are split with the server's own
// RecordDecoder; the reply header is checked by hand (RFC 5531 §9).
import net from 'node:net';
import { RecordDecoder } from '../pkg/nfs/rpc/record';
import { XdrReader, XdrWriter } from '../pkg/nfs/xdr';

const HEADER_WORDS = 10; // xid, CALL, rpcvers, prog, vers, proc, cred flavor, cred len, verf flavor, verf len

/** An AUTH_SYS credential body (RFC 5531 appendix A) for uid/gid, no supplementary groups. */
function authSysBody(uid: number, gid: number): Buffer {
  return Buffer.from(new XdrWriter(64).uint32(0).string('rpc-bench').uint32(uid).uint32(gid).uint32(0).toBuffer());
}

export class RpcCallError extends Error {}

export class BenchRpcClient {
  private readonly decoder = new RecordDecoder(64 * 1024 * 1024);
  private readonly waiting = new Map<number, { resolve(r: XdrReader): void; reject(e: Error): void }>();
  private readonly cred: Buffer;
  private nextXid = 1;
  private failure: Error | undefined;

  private constructor(private readonly socket: net.Socket, uid: number, gid: number) {
    this.cred = authSysBody(uid, gid);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static connect(host: string, port: number, uid = 0, gid = 0): Promise<BenchRpcClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true }, () => {
        socket.off('error', reject);
        resolve(new BenchRpcClient(socket, uid, gid));
      });
      socket.once('error', reject);
    });
  }

  /** Sends one call; resolves with a reader at the procedure's results (accept_stat SUCCESS). */
  call(prog: number, vers: number, proc: number, args: Buffer): Promise<XdrReader> {
    if (this.failure) return Promise.reject(this.failure);
    const xid = this.nextXid++ >>> 0;
    const credPadded = (this.cred.length + 3) & ~3;
    const length = HEADER_WORDS * 4 + credPadded + args.length;
    const b = Buffer.allocUnsafe(4 + length);
    let o = b.writeUInt32BE((0x80000000 | length) >>> 0, 0);
    for (const v of [xid, 0, 2, prog, vers, proc, 1, this.cred.length]) o = b.writeUInt32BE(v, o);
    this.cred.copy(b, o);
    b.fill(0, o + this.cred.length, o + credPadded);
    o += credPadded;
    o = b.writeUInt32BE(0, o);
    o = b.writeUInt32BE(0, o);
    args.copy(b, o);
    const reply = new Promise<XdrReader>((resolve, reject) => this.waiting.set(xid, { resolve, reject }));
    this.socket.write(b);
    return reply;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    for (let rec = this.decoder.next(); rec !== undefined; rec = this.decoder.next()) {
      const r = new XdrReader(rec);
      const xid = r.uint32();
      const w = this.waiting.get(xid);
      if (!w) continue;
      this.waiting.delete(xid);
      if (r.uint32() !== 1 || r.uint32() !== 0) {
        w.reject(new RpcCallError(`xid ${xid}: not an accepted reply`));
        continue;
      }
      r.uint32();
      r.opaque(400);
      const stat = r.uint32();
      if (stat !== 0) w.reject(new RpcCallError(`xid ${xid}: accept_stat ${stat}`));
      else w.resolve(r);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}
