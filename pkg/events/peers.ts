// Telling the other nodes that hold a volume what this node's reconciler just put into or
// deleted from the bucket, so that they re-list at once instead of after their TTL. A notice is
// the bucket's own event shape (records.ts, eventSource "s3files", keys as is), POSTed to each
// peer's events endpoint (http-endpoint.ts) with the shared token: the receiving side treats it
// exactly as a bucket event (same conflict rule, same coalescing), so a peer notice and an RGW
// event for the same write cost one listing at most between them.
//
// Writes are batched for `batchMs` (a burst of uploads is one request per peer, at most
// MAX_RECORDS records each), sent with a short timeout and one retry; a peer that cannot be
// reached is logged (rate-limited) and skipped: its TTL is the backstop. Peers come from a
// function, so the set can follow the cluster (peer-registry.ts).
import type { Logger } from '../log/logger';
import { RateLimitedLog } from '../log/rate-limited';
import type { OwnWrite, OwnWrites } from '../reconcile/own-writes';
import type { BucketChange } from './records';

const MAX_RECORDS = 1000;
const LOG_EVERY_MS = 10_000;

export interface Peer {
  /** Full URL of its events endpoint for this volume, e.g. http://10.0.0.7:9810/events/pvc-1 */
  url: string;
}

export interface PeerNotifierOptions {
  bucket: string;
  ownWrites: OwnWrites;
  peers: () => Peer[] | Promise<Peer[]>;
  token?: string;
  batchMs?: number;
  timeoutMs?: number;
  log: Logger;
}

export class PeerNotifier {
  private queue: unknown[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private readonly off: () => void;
  private readonly limited: RateLimitedLog;
  readonly counters = { notices: 0, relayed: 0, requests: 0, failures: 0, dropped: 0 };

  constructor(private readonly o: PeerNotifierOptions) {
    this.limited = new RateLimitedLog(o.log, LOG_EVERY_MS);
    this.off = o.ownWrites.onWrite((w) => this.add(w));
  }

  close(): void {
    this.off();
    if (this.timer) clearTimeout(this.timer);
    this.queue = [];
  }

  /** Resolves once every notice queued so far was sent (or failed). */
  async flushed(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.sending = this.sending.then(() => this.send());
    }
    await this.sending;
  }

  /**
   * Passes bucket events that only this node received on to the peers (an SQS message goes to
   * one consumer of the queue). Relayed records are marked, and never relayed again.
   */
  relay(changes: BucketChange[]): void {
    for (const c of changes) {
      this.counters.relayed++;
      this.push({
        eventVersion: '2.2', eventSource: RELAYED, eventTime: new Date(c.atMs ?? Date.now()).toISOString(),
        eventName: c.removed ? 'ObjectRemoved:Delete' : 'ObjectCreated:Put',
        s3: { bucket: { name: c.bucket }, object: { key: c.key, ...(c.etag ? { eTag: c.etag } : {}) } },
      });
    }
  }

  private add(w: OwnWrite): void {
    this.counters.notices++;
    this.push(record(this.o.bucket, w));
  }

  private push(rec: unknown): void {
    if (this.queue.length >= 10 * MAX_RECORDS) {
      this.counters.dropped++; // the peers' TTL catches up; memory stays bounded
      return;
    }
    this.queue.push(rec);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.sending = this.sending.then(() => this.send());
    }, this.o.batchMs ?? 20);
  }

  private async send(): Promise<void> {
    const records = this.queue;
    this.queue = [];
    if (records.length === 0) return;
    let peers: Peer[];
    try {
      peers = await this.o.peers();
    } catch (err) {
      this.warn('could not find the peers to notify', { err: String(err) });
      return;
    }
    for (let i = 0; i < records.length; i += MAX_RECORDS) {
      const body = JSON.stringify({ Records: records.slice(i, i + MAX_RECORDS) });
      await Promise.all(peers.map((p) => this.post(p, body)));
    }
  }

  private async post(peer: Peer, body: string): Promise<void> {
    for (let attempt = 1; attempt <= 2; attempt++) {
      this.counters.requests++;
      try {
        const res = await fetch(peer.url, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', ...(this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}) },
          signal: AbortSignal.timeout(this.o.timeoutMs ?? 2000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        if (res.status < 500) {
          this.counters.failures++;
          this.warn('a peer refused a notice', { peer: peer.url, status: res.status });
          return;
        }
      } catch (err) {
        if (attempt === 2) {
          this.counters.failures++;
          this.warn('a peer could not be notified; it catches up at its TTL', { peer: peer.url, err: String(err) });
        }
      }
    }
  }

  private warn(message: string, detail: Record<string, unknown>): void {
    this.limited.write('warn', message, message, detail);
  }
}

/** eventSource of records relayed from a queue (records.ts reads their keys as is). */
export const RELAYED = 's3files-relay';

/** A write as an S3 event record (records.ts reads it back). */
function record(bucket: string, w: OwnWrite): unknown {
  return {
    eventVersion: '2.2',
    eventSource: 's3files',
    eventTime: new Date(w.at).toISOString(),
    eventName: w.kind === 'removed' ? 'ObjectRemoved:Delete' : 'ObjectCreated:Put',
    s3: { bucket: { name: bucket }, object: { key: w.key, ...(w.etag ? { eTag: w.etag } : {}) } },
  };
}
