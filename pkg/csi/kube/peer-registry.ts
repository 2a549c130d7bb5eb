// Which other nodes hold a volume, and where to notify them: read from the volume's
// S3FileSystem, whose status.nodes each node keeps current (status-reporter.ts) with its
// notifyUrl. Nodes find each other through the object the driver keeps per volume anyway, so
// there is no extra discovery service, no extra RBAC beyond the get/list the reporter already
// has, and a node that leaves drops out when its entry does (or goes stale: no report within
// `staleMs`).
//
// Cost: one GET of the object per volume per `refreshMs` (default 5 s) on a node that is
// writing to it, none on an idle one. A node that starts holding the volume is notified once its
// first report landed and the writer's cache expired: up to refreshMs + its report interval,
// during which its TTL (and the bucket's events, where configured) stand in.
import type { Peer } from '../../events/peers';
import type { S3FileSystem } from './s3filesystem';

export interface PeerSource {
  listByVolumeId(volumeId: string): Promise<S3FileSystem[]>;
}

export interface PeerRegistryOptions {
  client: PeerSource;
  /** This node: never its own peer. */
  nodeId: string;
  refreshMs?: number;
  /** Entries not reported for this long are of departed nodes (default 15 min: 3 heartbeats). */
  staleMs?: number;
  now?: () => number;
}

export class PeerRegistry {
  private readonly cache = new Map<string, { at: number; peers: Peer[] }>();
  private readonly now: () => number;

  constructor(private readonly o: PeerRegistryOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The other nodes' notify endpoints for the volume (cached; a failed read keeps the last known list). */
  async peersOf(volumeId: string): Promise<Peer[]> {
    const cached = this.cache.get(volumeId);
    const now = this.now();
    if (cached && now - cached.at < (this.o.refreshMs ?? 5000)) return cached.peers;
    let objects: S3FileSystem[];
    try {
      objects = await this.o.client.listByVolumeId(volumeId);
    } catch (err) {
      if (cached) return cached.peers;
      throw err;
    }
    const staleMs = this.o.staleMs ?? 15 * 60_000;
    const urls = new Set<string>();
    for (const obj of objects) {
      for (const n of obj.status?.nodes ?? []) {
        if (n.node === this.o.nodeId || !n.notifyUrl || !/^https?:\/\//.test(n.notifyUrl)) continue;
        const reported = n.reportedAt ? Date.parse(n.reportedAt) : NaN;
        if (!Number.isNaN(reported) && now - reported > staleMs) continue;
        urls.add(n.notifyUrl);
      }
    }
    const peers = Array.from(urls).sort().map((url) => ({ url }));
    this.cache.set(volumeId, { at: now, peers });
    return peers;
  }
}
