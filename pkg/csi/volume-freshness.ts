// The node plugin's freshness paths for its staged volumes (docs/freshness.md): one events
// endpoint per node (--events-listen) where the bucket's HTTP notifications (Ceph RGW, MinIO)
// and the other nodes' notices arrive, at /events/<export name> per volume; and, with a
// Kubernetes API, notices of this node's uploads and deletes to the other nodes that hold the
// volume, found in its S3FileSystem (kube/peer-registry.ts). The node advertises its endpoint
// for each volume as status.nodes[].notifyUrl (through syncStatus, kube/status-reporter.ts).
//
// A volume's SQS queue (eventQueueUrl) is read by every node holding it, and a queue gives each
// message to one reader: the reader relays the changes to the volume's other nodes (marked as
// relayed, never relayed again), so each node learns of every change.
//
// pkg/csi never parses events: this only attaches pkg/events' feed and notifier to a volume's
// linked export when it is opened, and detaches them when it is closed.
import { ChangeFeed, EventRouter, feedFor, startEventEndpoint, type EventEndpoint } from '../events';
import { PeerNotifier, type Peer } from '../events/peers';
import { SqsSource } from '../events/sqs-source';
import type { Logger } from '../log/logger';
import type { LinkedExport } from '../reconcile';

export interface VolumeFreshnessOptions {
  /** HOST:PORT parsed; the endpoint listens there. */
  listen: { host: string; port: number };
  /** The URL base other nodes and the bucket reach this endpoint at, e.g. http://10.0.0.7:9810. */
  advertise: string;
  token?: string;
  /** The other nodes holding a volume (by volume ID); none without a Kubernetes API. */
  peersOf?: (volumeId: string) => Promise<Peer[]>;
  log: Logger;
}

interface Attached {
  feed: ChangeFeed;
  notifier?: PeerNotifier;
  queueUrl?: string;
}

/** A volume's SQS queue of bucket events, and how to read it. */
export interface VolumeQueue {
  queueUrl: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export class VolumeFreshness {
  private readonly router: EventRouter;
  private readonly attached = new Map<string, Attached>();
  /** One reader per queue, however many volumes name it (the router hands events to each). */
  private readonly queues = new Map<string, { source: SqsSource; users: number }>();

  private constructor(
    private readonly o: VolumeFreshnessOptions,
    private readonly endpoint: EventEndpoint,
    router: EventRouter,
  ) {
    this.router = router;
  }

  static async start(o: VolumeFreshnessOptions): Promise<VolumeFreshness> {
    const router = new EventRouter(o.log);
    const endpoint = await startEventEndpoint({ host: o.listen.host, port: o.listen.port, token: o.token, router, log: o.log });
    o.log.info('events endpoint', { address: endpoint.address.address, port: endpoint.address.port, advertise: o.advertise, authenticated: o.token !== undefined });
    return new VolumeFreshness(o, endpoint, router);
  }

  get port(): number {
    return this.endpoint.address.port;
  }

  /** The URL this node is notified at for the volume exported as `exportName`. */
  notifyUrl(exportName: string): string {
    return `${this.o.advertise.replace(/\/+$/, '')}/events/${encodeURIComponent(exportName)}`;
  }

  /** A volume was opened: events for it are applied, its writes told to its other nodes. */
  attach(volumeId: string, exportName: string, bucket: string, linked: LinkedExport, queue?: VolumeQueue): void {
    if (this.attached.has(exportName)) {
      this.o.log.warn('a volume was attached twice; the earlier feed is dropped', { export: exportName });
      void this.detach(exportName);
    }
    const feed = feedFor(exportName, bucket, linked, this.o.log);
    this.router.add(feed);
    // What happened while the volume was not open here is unknown.
    feed.gap('volume opened');
    const peersOf = this.o.peersOf;
    const notifier = peersOf
      ? new PeerNotifier({ bucket, ownWrites: linked.ownWrites, peers: () => peersOf(volumeId), token: this.o.token, log: this.o.log })
      : undefined;
    if (queue) this.useQueue(queue);
    this.attached.set(exportName, { feed, notifier, queueUrl: queue?.queueUrl });
  }

  private useQueue(q: VolumeQueue): void {
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
      // A queue hands each message to one of its readers: the other nodes holding the volume
      // get the changes from this one.
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

  /** Before the volume's cache closes: resolves once nothing of this module touches it any more. */
  async detach(exportName: string): Promise<void> {
    const a = this.attached.get(exportName);
    if (!a) return;
    this.attached.delete(exportName);
    a.notifier?.close();
    if (a.queueUrl) this.releaseQueue(a.queueUrl);
    await this.router.remove(exportName);
  }

  status(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, a] of this.attached) {
      out[name] = { ...a.feed.status(), peers: a.notifier?.counters, sqs: a.queueUrl ? this.queues.get(a.queueUrl)?.source.status() : undefined };
    }
    return out;
  }

  async close(): Promise<void> {
    for (const name of Array.from(this.attached.keys())) await this.detach(name);
    await this.endpoint.close();
  }
}
