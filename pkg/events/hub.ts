// The freshness paths of one process, for the linked exports it serves (docs/freshness.md): one
// router; optionally one HTTP endpoint where the bucket's notifications (Ceph RGW, MinIO) and
// other servers' notices arrive, at /events/<export name>; per export a ChangeFeed, and a
// PeerNotifier telling the export's other servers of its uploads and deletes; and one reader
// per SQS queue, however many exports name it.
// A queue gives each message to one of its readers: the reader relays the changes to the
// export's other servers (marked as relayed, never relayed again), so that every server learns
// of every change. `serve` (cmd/serve-events.ts) and the CSI node plugin
// (pkg/csi/volume-freshness.ts) both run one of these; they differ only in where the peers
// come from (a flag, or the volume's S3FileSystem record).
import type { Logger } from '../log/logger';
import type { LinkedExport } from '../reconcile';
import type { ChangeFeed } from './change-feed';
import { startEventEndpoint, type EventEndpoint } from './http-endpoint';
import { feedFor } from './feed-for';
import { PeerNotifier, type Peer } from './peers';
import { EventRouter } from './router';
import { SqsSource } from './sqs-source';

export interface FreshnessHubOptions {
  /** Where the events endpoint listens; none without. */
  listen?: { host: string; port: number };
  /** The token the endpoint requires and notices to peers carry. */
  token?: string;
  log: Logger;
}

/** An SQS queue of bucket events, and how to read it. */
export interface EventQueue {
  queueUrl: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export interface AttachOptions {
  /** The export's other servers, asked at each notice; none: no notices sent. */
  peers?: () => Peer[] | Promise<Peer[]>;
  queue?: EventQueue;
  /** Why the feed starts with a gap (what happened before is unknown), for its status. */
  gapReason: string;
}

interface Attached {
  feed: ChangeFeed;
  notifier?: PeerNotifier;
  queueUrl?: string;
}

export class FreshnessHub {
  private readonly attached = new Map<string, Attached>();
  private readonly queues = new Map<string, { source: SqsSource; users: number }>();

  private constructor(
    private readonly o: FreshnessHubOptions,
    readonly router: EventRouter,
    readonly endpoint: EventEndpoint | undefined,
  ) {}

  static async start(o: FreshnessHubOptions): Promise<FreshnessHub> {
    const router = new EventRouter(o.log);
    const endpoint = o.listen ? await startEventEndpoint({ host: o.listen.host, port: o.listen.port, token: o.token, router, log: o.log }) : undefined;
    return new FreshnessHub(o, router, endpoint);
  }

  /** Events for `exportName` are applied to `linked`; its writes are told to its peers. */
  attach(exportName: string, bucket: string, linked: LinkedExport, a: AttachOptions): void {
    if (this.attached.has(exportName)) {
      this.o.log.warn('an export was attached twice; the earlier feed is dropped', { export: exportName });
      void this.detach(exportName);
    }
    const feed = feedFor(exportName, bucket, linked, this.o.log);
    this.router.add(feed);
    feed.gap(a.gapReason);
    const notifier = a.peers ? new PeerNotifier({ bucket, ownWrites: linked.ownWrites, peers: a.peers, token: this.o.token, log: this.o.log }) : undefined;
    if (a.queue) this.useQueue(a.queue);
    this.attached.set(exportName, { feed, notifier, queueUrl: a.queue?.queueUrl });
  }

  /** Resolves once nothing of the hub touches the export any more (before its cache closes). */
  async detach(exportName: string): Promise<void> {
    const a = this.attached.get(exportName);
    if (!a) return;
    this.attached.delete(exportName);
    a.notifier?.close();
    if (a.queueUrl) this.releaseQueue(a.queueUrl);
    await this.router.remove(exportName);
  }

  /** Per export: its feed's status, its notices to peers, the reading of its queue. */
  status(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, a] of this.attached) {
      out[name] = { ...a.feed.status(), peers: a.notifier?.counters, sqs: a.queueUrl ? this.queues.get(a.queueUrl)?.source.status() : undefined };
    }
    return out;
  }

  async close(): Promise<void> {
    for (const name of Array.from(this.attached.keys())) await this.detach(name);
    await this.endpoint?.close();
    await this.router.closeAll();
  }

  private useQueue(q: EventQueue): void {
    const known = this.queues.get(q.queueUrl);
    if (known) {
      known.users++;
      return;
    }
    const source = new SqsSource({
      queueUrl: q.queueUrl,
      router: this.router,
      log: this.o.log,
      client: { ...(q.region ? { region: q.region } : {}), ...(q.credentials ? { credentials: q.credentials } : {}) },
      onChanges: (changes) => {
        for (const a of this.attached.values()) {
          if (a.queueUrl !== q.queueUrl || !a.notifier) continue;
          const mine = changes.filter((c) => a.feed.covers(c));
          if (mine.length > 0) a.notifier.relay(mine);
        }
      },
    });
    source.start();
    this.queues.set(q.queueUrl, { source, users: 1 });
  }

  private releaseQueue(queueUrl: string): void {
    const q = this.queues.get(queueUrl);
    if (!q || --q.users > 0) return;
    this.queues.delete(queueUrl);
    void q.source.stop();
  }
}
