// `s3files serve`'s freshness paths (docs/freshness.md): the HTTP endpoint bucket notifications
// are pushed to (--events-listen, Ceph RGW / MinIO), an SQS queue (--events-sqs, AWS), and
// notices to other s3files servers on the same bucket (--peers). Each export of the bucket gets
// one ChangeFeed; all sources deliver through one router.
import { logger } from '../pkg/log/logger';
import { EventRouter, feedFor, startEventEndpoint, type BucketChange, type EventEndpoint } from '../pkg/events';
import { PeerNotifier } from '../pkg/events/peers';
import { SqsSource } from '../pkg/events/sqs-source';
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
  const router = new EventRouter(log);
  for (const [name, linked] of exports) {
    const feed = feedFor(name, s.bucket, linked, log);
    router.add(feed);
    // Events missed while this server was down are unknown: a gap at start.
    feed.gap('server start');
  }
  let endpoint: EventEndpoint | undefined;
  let sqs: SqsSource | undefined;
  const notifiers: Array<{ name: string; notifier: PeerNotifier }> = [];
  try {
    if (s.listen) {
      const { host, port } = parseListen(s.listen, '--events-listen');
      endpoint = await startEventEndpoint({ host, port, token: s.token, router, log });
      log.info('events endpoint', { address: endpoint.address.address, port: endpoint.address.port, authenticated: s.token !== undefined });
    }
    for (const [name, linked] of exports) {
      if (s.peers.length === 0) break;
      const peers = s.peers.map((base) => ({ url: `${base}/events/${encodeURIComponent(name)}` }));
      notifiers.push({ name, notifier: new PeerNotifier({ bucket: s.bucket, ownWrites: linked.ownWrites, peers: () => peers, token: s.token, log }) });
    }
    if (s.sqsQueueUrl) {
      // A queue gives each message to one reader: what this server got, its peers get from it.
      const relay = (changes: BucketChange[]) => {
        for (const { name, notifier } of notifiers) {
          const mine = changes.filter((c) => router.get(name)?.covers(c));
          if (mine.length > 0) notifier.relay(mine);
        }
      };
      sqs = new SqsSource({ queueUrl: s.sqsQueueUrl, router, log, client: s.region ? { region: s.region } : {}, onChanges: relay });
      sqs.start();
    }
  } catch (err) {
    await endpoint?.close();
    await router.closeAll();
    throw err;
  }
  return {
    endpoint,
    status: () => ({
      feeds: Object.fromEntries(router.names().map((n) => [n, router.get(n)!.status()])),
      malformed: router.malformed,
      sqs: sqs?.status(),
      peers: notifiers.map((n) => n.notifier.counters),
    }),
    async close() {
      for (const n of notifiers) n.notifier.close();
      await sqs?.stop();
      await endpoint?.close();
      await router.closeAll();
    },
  };
}
