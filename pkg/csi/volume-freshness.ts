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
// pkg/csi never parses events: this only attaches a volume's linked export to pkg/events'
// FreshnessHub when it is opened, and detaches it when it is closed.
import { FreshnessHub, type EventQueue } from '../events';
import type { Peer } from '../events/peers';
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

/** A volume's SQS queue of bucket events, and how to read it. */
export type VolumeQueue = EventQueue;

export class VolumeFreshness {
  private constructor(
    private readonly o: VolumeFreshnessOptions,
    private readonly hub: FreshnessHub,
  ) {}

  static async start(o: VolumeFreshnessOptions): Promise<VolumeFreshness> {
    const hub = await FreshnessHub.start({ listen: o.listen, token: o.token, log: o.log });
    const address = hub.endpoint!.address;
    o.log.info('events endpoint', { address: address.address, port: address.port, advertise: o.advertise, authenticated: o.token !== undefined });
    return new VolumeFreshness(o, hub);
  }

  get port(): number {
    return this.hub.endpoint!.address.port;
  }

  /** The URL this node is notified at for the volume exported as `exportName`. */
  notifyUrl(exportName: string): string {
    return `${this.o.advertise.replace(/\/+$/, '')}/events/${encodeURIComponent(exportName)}`;
  }

  /** A volume was opened: events for it are applied, its writes told to its other nodes. */
  attach(volumeId: string, exportName: string, bucket: string, linked: LinkedExport, queue?: VolumeQueue): void {
    const peersOf = this.o.peersOf;
    // What happened while the volume was not open here is unknown.
    this.hub.attach(exportName, bucket, linked, { peers: peersOf && (() => peersOf(volumeId)), queue, gapReason: 'volume opened' });
  }

  /** Before the volume's cache closes: resolves once nothing of this module touches it any more. */
  detach(exportName: string): Promise<void> {
    return this.hub.detach(exportName);
  }

  status(): Record<string, unknown> {
    return this.hub.status();
  }

  close(): Promise<void> {
    return this.hub.close();
  }
}
