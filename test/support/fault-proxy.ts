// An HTTP proxy between the SDK and a real S3 server that injects the failures S3 clients meet
// in production: 503 SlowDown and 500 InternalError (S3 XML error bodies), a connection reset
// while the request is being sent (nothing reaches the server) or while the response is
// coming back (the server DID apply the request: the ambiguous case), and delays.
//
// Faults are chosen per request with a seeded PRNG (reproducible), or scripted for the next
// requests. Everything else is forwarded byte for byte, Host header included: the SDK signs
// Host (SigV4), so it is pointed at the proxy and the server checks the signature against the
// proxy's host:port that it receives unchanged (verified against RGW by the fault tests).
import http from 'node:http';
import net from 'node:net';
import { flatRaw, rawHeadersToObject } from './http-forward';

export type FaultKind = 'slowdown' | 'internal' | 'reset-request' | 'reset-response' | 'delay';
/**
 * The whole endpoint, for outages: 'forward' (faults as configured), 'hang' (requests are
 * accepted and never answered, as a blackholed or wedged S3), 'refuse' (connections are reset
 * as soon as they open, as a server that is down).
 */
export type ProxyMode = 'forward' | 'hang' | 'refuse';

export interface FaultProxyOptions {
  /** http://host:port of the real server. */
  target: string;
  seed?: number;
  /** Share of requests (0..1) that get a random fault. */
  rate?: number;
  /** Relative weights of the random faults (default: all equal). */
  weights?: Partial<Record<FaultKind, number>>;
  delayMs?: number;
  /** Only requests for which this returns true are eligible for faults. */
  eligible?: (req: http.IncomingMessage) => boolean;
}

export interface RequestRecord {
  method: string;
  path: string;
  fault: FaultKind | undefined;
  range?: string;
  ifMatch?: string;
}

/** mulberry32: a tiny seeded PRNG, so a failing run can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function s3ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId><HostId>fault-proxy</HostId></Error>`;
}

export class FaultProxy {
  readonly counts: Record<FaultKind | 'forwarded' | 'requests', number> = {
    slowdown: 0, internal: 0, 'reset-request': 0, 'reset-response': 0, delay: 0, forwarded: 0, requests: 0,
  };
  readonly log: RequestRecord[] = [];
  /** Requests being handled right now, and the most seen at once. */
  inFlight = 0;
  maxInFlight = 0;
  rate: number;
  mode: ProxyMode = 'forward';
  /** Requests held without an answer in 'hang' mode. */
  hung = 0;
  /** Connections reset at once in 'refuse' mode. */
  refused = 0;
  private readonly random: () => number;
  private readonly scripted: FaultKind[] = [];
  private readonly server: http.Server;
  private readonly upstream: URL;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly opts: FaultProxyOptions) {
    this.upstream = new URL(opts.target);
    this.rate = opts.rate ?? 0;
    this.random = seededRandom(opts.seed ?? 1);
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30000;
    this.server.on('connection', (s) => {
      if (this.mode === 'refuse') {
        this.refused++;
        s.resetAndDestroy();
        return;
      }
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  /**
   * Closes every open connection (requests held in 'hang' mode included): with mode 'refuse',
   * clients' kept-alive connections go too, so nothing reaches the server any more; back in
   * 'forward', hung requests fail at once instead of at their client's timeout.
   */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Switches the outage mode and drops the open connections, so the new mode applies at once. */
  setMode(mode: ProxyMode): void {
    this.mode = mode;
    this.dropConnections();
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** The next eligible requests get exactly these faults, in order (before any random ones). */
  script(...faults: FaultKind[]): void {
    this.scripted.push(...faults);
  }

  resetCounts(): void {
    for (const k of Object.keys(this.counts) as Array<keyof FaultProxy['counts']>) this.counts[k] = 0;
    this.log.length = 0;
    this.maxInFlight = this.inFlight;
  }

  get faultsInjected(): number {
    return this.counts.slowdown + this.counts.internal + this.counts['reset-request'] + this.counts['reset-response'];
  }

  private pickFault(req: http.IncomingMessage): FaultKind | undefined {
    if (this.opts.eligible && !this.opts.eligible(req)) return undefined;
    if (this.scripted.length) return this.scripted.shift();
    if (this.random() >= this.rate) return undefined;
    const weights = this.opts.weights ?? { slowdown: 1, internal: 1, 'reset-request': 1, 'reset-response': 1, delay: 1 };
    const entries = Object.entries(weights).filter(([, w]) => (w ?? 0) > 0) as Array<[FaultKind, number]>;
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let r = this.random() * total;
    for (const [kind, w] of entries) {
      if ((r -= w) < 0) return kind;
    }
    return entries[entries.length - 1]?.[0];
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.mode === 'hang') {
      this.hung++;
      req.resume(); // take the body, answer nothing
      return;
    }
    const fault = this.pickFault(req);
    this.counts.requests++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let done = false;
    const finished = () => {
      if (!done) this.inFlight--;
      done = true;
    };
    res.once('close', finished); // also emitted when the connection is destroyed
    if (fault) this.counts[fault]++;
    this.log.push({ method: req.method ?? '', path: req.url ?? '', fault, range: req.headers.range, ifMatch: req.headers['if-match'] });
    switch (fault) {
      case 'slowdown':
        return this.replyError(req, res, 503, 'SlowDown', 'Please reduce your request rate.');
      case 'internal':
        return this.replyError(req, res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      case 'reset-request':
        // Take a little of the body, then drop the connection: the server never sees the request.
        req.once('data', () => req.socket.destroy());
        req.once('end', () => req.socket.destroy());
        setTimeout(() => req.socket.destroy(), 5);
        return;
      case 'delay':
        setTimeout(() => this.forward(req, res, false), this.opts.delayMs ?? 200);
        return;
      default:
        this.forward(req, res, fault === 'reset-response');
    }
  }

  private replyError(req: http.IncomingMessage, res: http.ServerResponse, status: number, code: string, message: string): void {
    req.resume(); // drain the request body, as a server does before answering
    req.once('end', () => {
      const body = s3ErrorXml(code, message);
      res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body), 'x-amz-request-id': 'fault-proxy' });
      res.end(body);
    });
  }

  /** Forwards the request unchanged; with `cut`, the response is cut off halfway. */
  private forward(req: http.IncomingMessage, res: http.ServerResponse, cut: boolean): void {
    this.counts.forwarded++;
    const up = http.request({
      host: this.upstream.hostname,
      port: this.upstream.port,
      method: req.method,
      path: req.url,
      headers: rawHeadersToObject(req.rawHeaders), // Host as the client sent (and signed) it
      agent: this.agent,
    });
    up.on('response', (upRes) => {
      const chunks: Buffer[] = [];
      upRes.on('data', (c: Buffer) => chunks.push(c));
      upRes.on('end', () => {
        const body = Buffer.concat(chunks);
        if (cut) {
          // The server has applied the request; the client sees a reset.
          if (body.length < 2) {
            req.socket.destroy();
            return;
          }
          res.writeHead(upRes.statusCode ?? 502, flatRaw(upRes.rawHeaders));
          res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => req.socket.destroy(), 5));
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, flatRaw(upRes.rawHeaders));
        res.end(body);
      });
      upRes.on('error', () => req.socket.destroy());
    });
    up.on('error', () => req.socket.destroy());
    req.pipe(up);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.agent.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  return new FaultProxy(opts).start();
}
