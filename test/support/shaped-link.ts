// An S3 link shaped like the real one, between an S3 client (the s3files server, the SDK,
// rclone, s3fs) and a local Ceph RGW, whose requests take well under a millisecond: real S3
// answers a request in 10–30 ms and carries 50–100 MB/s per connection. This kernel has no
// netem qdisc, so the shaping lives here, in an HTTP proxy:
//  - latency: each response's head (so its first byte) leaves the proxy `latencyMs` after it
//    arrived from RGW. The delay is ADDED, once per request: a request costs RGW's own time +
//    latencyMs + its bytes at the cap. (Not half each way: one hold per request is what a
//    client can observe, and it keeps the accounting of a request's cost exact.)
//  - bandwidth: each client connection has a cap in each direction (default 25 MB/s, a token
//    bucket per downstream socket, pacer.ts), and optionally the link has a total cap per
//    direction shared by all connections.
//  - one upstream connection per client connection (a keep-alive agent of one socket each), so
//    a client gets more bandwidth only by opening more connections, as on real S3.
//  - counters by S3 operation, bytes and requests in flight over time (link-meter.ts).
// Requests are forwarded byte for byte, Host included (SigV4 signs it: see http-forward.ts).
// Clients must use path-style addressing (all do here: the link is on 127.0.0.1).
// No mocha here: bench/ uses it too.
import http from 'node:http';
import net from 'node:net';
import { flatRaw, rawHeadersToObject } from './http-forward';
import { classifyRequest, LinkMeter, type InFlightStats, type LinkCounts } from './link-meter';
import { PacedStream, Pacer } from './pacer';

export const DEFAULT_LATENCY_MS = 20;
export const DEFAULT_CONN_BYTES_PER_SEC = 25e6;

export interface ShapedLinkOptions {
  /** http://host:port of the real S3 server (RGW). */
  target: string;
  /** Added first-byte latency per request, ms (default 20; 0 for none). */
  latencyMs?: number;
  /** Per-connection cap in each direction, bytes/s (default 25e6; 0 for none). */
  connBytesPerSec?: number;
  /** Cap across all connections in each direction, bytes/s (default none). */
  totalBytesPerSec?: number;
  /** Port to listen on (default: any free one), on 127.0.0.1. */
  port?: number;
}

interface Connection {
  agent: http.Agent;
  up: Pacer[];
  down: Pacer[];
}

export class ShapedLink {
  readonly meter = new LinkMeter();
  /** May be changed while running: applies to the responses that arrive from then on. */
  latencyMs: number;
  readonly connBytesPerSec: number;
  readonly totalBytesPerSec: number;
  port = 0;
  private readonly upstream: URL;
  private readonly server: http.Server;
  private readonly unixServers: http.Server[] = [];
  private readonly conns = new Map<net.Socket, Connection>();
  private readonly total: { up?: Pacer; down?: Pacer };

  constructor(opts: ShapedLinkOptions) {
    this.upstream = new URL(opts.target);
    this.latencyMs = opts.latencyMs ?? DEFAULT_LATENCY_MS;
    this.connBytesPerSec = opts.connBytesPerSec ?? DEFAULT_CONN_BYTES_PER_SEC;
    this.totalBytesPerSec = opts.totalBytesPerSec ?? 0;
    this.total = this.totalBytesPerSec > 0 ? { up: new Pacer(this.totalBytesPerSec), down: new Pacer(this.totalBytesPerSec) } : {};
    this.port = opts.port ?? 0;
    // requestTimeout 0: a 1 GiB upload at 25 MB/s takes longer than Node's default 5 minutes allows under load.
    this.server = this.newServer();
  }

  private newServer(): http.Server {
    const server = http.createServer({ requestTimeout: 0 }, (req, res) => this.handle(req, res));
    server.keepAliveTimeout = 120_000; // clients keep their sockets; closing them first would cost reconnects
    server.on('connection', (s: net.Socket) => this.accept(s));
    server.on('clientError', (_err, s: net.Socket) => s.destroy());
    return server;
  }

  /**
   * Also accepts clients on a unix socket: a client in another network namespace reaches the
   * link through it with one forwarder (ns-bridge.ts forwardIntoNs) and no hop through a
   * process of the host, as a client on the host reaches the TCP port.
   */
  async listenUnix(socketPath: string): Promise<void> {
    const server = this.newServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, () => resolve()));
    this.unixServers.push(server);
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** Counters now (a copy). */
  counts(): LinkCounts {
    return this.meter.snapshot();
  }

  /** Zeroes the counters and the in-flight series. */
  reset(): void {
    this.meter.reset();
  }

  /** Peak and mean in flight between two performance.now() times (default: since the last reset). */
  inFlight(from?: number, to?: number): InFlightStats {
    return this.meter.inFlightStats(from, to);
  }

  private accept(socket: net.Socket): void {
    const pacers = () => (this.connBytesPerSec > 0 ? [new Pacer(this.connBytesPerSec)] : []);
    const conn: Connection = {
      agent: new http.Agent({ keepAlive: true, maxSockets: 1 }),
      up: [...pacers(), ...(this.total.up ? [this.total.up] : [])],
      down: [...pacers(), ...(this.total.down ? [this.total.down] : [])],
    };
    this.conns.set(socket, conn);
    this.meter.connection();
    socket.once('close', () => {
      conn.agent.destroy();
      this.conns.delete(socket);
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const conn = this.conns.get(req.socket);
    if (!conn) {
      req.socket.destroy();
      return;
    }
    const kind = classifyRequest(req.method ?? '', req.url ?? '/', req.headers);
    const record = this.meter.started(kind, req.headers.range !== undefined);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      this.meter.finished(record, res.statusCode);
    };
    res.once('close', finish); // also on a destroyed connection
    const up = http.request({
      host: this.upstream.hostname,
      port: this.upstream.port,
      method: req.method,
      path: req.url,
      headers: rawHeadersToObject(req.rawHeaders), // Host as the client sent (and signed) it
      agent: conn.agent,
    });
    // A failure on either side ends both: the client sees a reset, as on a broken network.
    const fail = () => {
      up.destroy();
      req.socket.destroy();
    };
    up.on('error', fail);
    req.on('error', fail);
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    up.on('response', (upRes) => {
      upRes.on('error', fail);
      const release = () => {
        if (req.socket.destroyed) {
          upRes.destroy();
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, flatRaw(upRes.rawHeaders));
        upRes.pipe(new PacedStream(conn.down, (n) => this.meter.bytes(record, 'down', n))).pipe(res);
      };
      if (this.latencyMs > 0) setTimeout(release, this.latencyMs);
      else release();
    });
    req.pipe(new PacedStream(conn.up, (n) => this.meter.bytes(record, 'up', n))).pipe(up);
  }

  async close(): Promise<void> {
    for (const s of this.conns.keys()) s.destroy();
    await Promise.all([this.server, ...this.unixServers].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

export async function startShapedLink(opts: ShapedLinkOptions): Promise<ShapedLink> {
  return new ShapedLink(opts).start();
}
