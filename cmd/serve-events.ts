// `s3files serve`'s freshness paths (docs/freshness.md): the HTTP endpoint bucket notifications
// are pushed to (--events-listen, Ceph RGW / MinIO), an SQS queue (--events-sqs, AWS), and
// notices to other s3files servers on the same bucket (--peers): pkg/events' FreshnessHub,
// with every export attached to the same peers and queue.
import { logger } from '../pkg/log/logger';
import { FreshnessHub, type EventEndpoint } from '../pkg/events';
import type { LinkedExport } from '../pkg/reconcile';
import { parseListen } from './flags';

export interface ServeEventsSettings {
  bucket: string;
  /** HOST:PORT of the events endpoint; undefined: none. */
  listen?: string;
  token?: string;
  sqsQueueUrl?: string;
  region?: string;
  /** Base URLs of other s3files servers' events endpoints (http://host:port). */
  peers: string[];
}

export interface ServeEvents {
  endpoint?: EventEndpoint;
  status(): unknown;
  close(): Promise<void>;
}

/** Parses --peers: comma-separated http(s) base URLs. */
export function parsePeers(value: string | undefined): string[] {
  const out: string[] = [];
  for (const part of (value ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    let url: URL;
    try {
      url = new URL(part);
    } catch {
      throw new Error(`--peers: ${JSON.stringify(part)} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--peers: ${part} must be http or https`);
    out.push(url.toString().replace(/\/+$/, ''));
  }
  return out;
}

export async function startServeEvents(s: ServeEventsSettings, exports: Map<string, LinkedExport>): Promise<ServeEvents | undefined> {
  if (!s.listen && !s.sqsQueueUrl && s.peers.length === 0) return undefined;
  const log = logger('events');
  const hub = await FreshnessHub.start({ listen: s.listen ? parseListen(s.listen, '--events-listen') : undefined, token: s.token, log });
  if (hub.endpoint) log.info('events endpoint', { address: hub.endpoint.address.address, port: hub.endpoint.address.port, authenticated: s.token !== undefined });
  try {
    for (const [name, linked] of exports) {
      const peers = s.peers.map((base) => ({ url: `${base}/events/${encodeURIComponent(name)}` }));
      hub.attach(name, s.bucket, linked, {
        peers: peers.length > 0 ? () => peers : undefined,
        queue: s.sqsQueueUrl ? { queueUrl: s.sqsQueueUrl, region: s.region } : undefined,
        // Events missed while this server was down are unknown.
        gapReason: 'server start',
      });
    }
  } catch (err) {
    await hub.close();
    throw err;
  }
  return {
    endpoint: hub.endpoint,
    status: () => ({ feeds: hub.status(), malformed: hub.router.malformed }),
    close: () => hub.close(),
  };
}
