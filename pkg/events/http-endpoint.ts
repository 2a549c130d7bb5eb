// The HTTP endpoint bucket notifications are pushed to (Ceph RGW topics with push-endpoint,
// MinIO webhooks) and other s3files nodes notify: POST /events (every export the event's
// bucket and prefix match) or POST /events/<export> (that export only), the body a JSON
// document of the shapes records.ts accepts. It answers as soon as the body is parsed — RGW
// waits for the answer before it answers the S3 request that caused the event — and applies
// the changes afterwards.
//
// Authentication: a shared token, given as `Authorization: Bearer T`, `X-S3files-Token: T` or
// `?token=T` (RGW and MinIO can only be given a URL). Without a token the endpoint only
// listens on loopback. Bodies are limited to MAX_BODY bytes; GET /healthz answers "ok".
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError, type Logger } from '../log/logger';
import type { EventRouter } from './router';

const MAX_BODY = 1024 * 1024;

export interface EventEndpointOptions {
  host: string;
  port: number;
  /** Required unless host is loopback. */
  token?: string;
  router: EventRouter;
  log: Logger;
}

export interface EventEndpoint {
  address: AddressInfo;
  /** Requests answered, by status code. */
  answered: Map<number, number>;
  close(): Promise<void>;
}

/** 127.0.0.0/8 (also as an IPv4-mapped IPv6 address), ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\./.test(h);
}

function sameToken(given: string | undefined, want: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

function tokenOf(req: http.IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const header = req.headers['x-s3files-token'];
  if (typeof header === 'string') return header;
  return url.searchParams.get('token') ?? undefined;
}

function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.resume();
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY ? undefined : Buffer.concat(parts)));
    req.on('error', reject);
  });
}

export async function startEventEndpoint(o: EventEndpointOptions): Promise<EventEndpoint> {
  if (!o.token && !isLoopback(o.host)) throw new Error('an events endpoint that is not on loopback needs a token (--events-token or S3FILES_EVENTS_TOKEN)');
  const answered = new Map<number, number>();
  const send = (res: http.ServerResponse, code: number, body: unknown) => {
    answered.set(code, (answered.get(code) ?? 0) + 1);
    res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(`${JSON.stringify(body)}\n`);
  };
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://events');
    if (req.method === 'GET' && url.pathname === '/healthz') return send(res, 200, 'ok');
    const m = /^\/events(?:\/([^/]+))?\/?$/.exec(url.pathname);
    if (!m) return send(res, 404, { error: 'not found' });
    if (req.method !== 'POST') return send(res, 405, { error: 'POST only' });
    if (o.token && !sameToken(tokenOf(req, url), o.token)) {
      o.router.warn('an events request without the right token was refused', { remote: req.socket.remoteAddress });
      return send(res, 401, { error: 'token required' });
    }
    const only = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
    if (only !== undefined && !o.router.get(only)) return send(res, 404, { error: `no such export: ${only}` });
    const body = await readBody(req);
    if (body === undefined) {
      o.router.warn('an events body over the size limit was refused', { remote: req.socket.remoteAddress, limit: MAX_BODY });
      return send(res, 413, { error: `body over ${MAX_BODY} bytes` });
    }
    const result = o.router.deliverBody(body, `http ${req.socket.remoteAddress ?? '?'}`, only);
    if (!result) return send(res, 400, { error: 'not a bucket event' });
    return send(res, 200, { changes: result.changes, unrouted: result.unrouted, ignored: result.ignored, gap: result.gap });
  };
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      o.log.warn('events request failed', { err: describeError(err) });
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    answered,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
