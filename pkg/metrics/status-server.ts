// The HTTP status endpoint of `s3files serve` (--status-listen): /metrics (Prometheus text),
// /status (JSON per export: queue, last sync, errors), /status/file?export=E&path=P (is this
// file in the bucket yet, and as which ETag) and /healthz. Bind it to loopback: it is not
// authenticated (it shows paths and keys, never credentials).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError, logger } from '../log/logger';
import { metrics } from './registry';

export interface StatusHandlers {
  status(): unknown;
  /** Undefined when the export or path does not exist. */
  fileStatus(exportName: string, path: string): Promise<unknown>;
}

export interface StatusServer {
  address: AddressInfo;
  close(): Promise<void>;
}

const log = logger('status');

function send(res: http.ServerResponse, code: number, body: string, type = 'application/json'): void {
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

async function route(req: http.IncomingMessage, res: http.ServerResponse, h: StatusHandlers): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://status');
  if (req.method !== 'GET') return send(res, 405, JSON.stringify({ error: 'GET only' }));
  switch (url.pathname) {
    case '/metrics': {
      const reg = metrics().registry;
      return send(res, 200, await reg.metrics(), reg.contentType);
    }
    case '/status':
      return send(res, 200, `${JSON.stringify(h.status(), null, 2)}\n`);
    case '/status/file': {
      const exp = url.searchParams.get('export') ?? '';
      const path = url.searchParams.get('path') ?? '';
      const st = await h.fileStatus(exp, path);
      if (st === undefined) return send(res, 404, JSON.stringify({ error: `no such file: ${exp}:${path}` }));
      return send(res, 200, `${JSON.stringify(st, null, 2)}\n`);
    }
    case '/healthz':
      return send(res, 200, 'ok\n', 'text/plain');
    default:
      return send(res, 404, JSON.stringify({ error: 'not found' }));
  }
}

export async function startStatusServer(host: string, port: number, handlers: StatusHandlers): Promise<StatusServer> {
  const server = http.createServer((req, res) => {
    route(req, res, handlers).catch((err: unknown) => {
      log.warn('status request failed', { url: req.url, err: describeError(err) });
      if (!res.headersSent) send(res, 500, JSON.stringify({ error: describeError(err) }));
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
