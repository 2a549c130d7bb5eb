// One export's subscription to its bucket's changes: takes parsed events (HTTP push, SQS, other
// nodes), keeps those under the export's prefix, drops our own writes (OwnWrites: no listing
// for them), coalesces the rest per directory for `coalesceMs`, and hands each directory's batch
// to the cache (pkg/cache remote-changes.ts), which re-lists it under the usual conflict rule.
// Memory is bounded: past `maxPending` keys waiting, the batch is dropped and treated as a gap
// (every listed directory is listed again at its next use), as are events marked as a gap.
import type { ChangeOutcome, RemoteChange, RemoteChanges } from '../cache';
import { parentKey } from '../cache';
import { describeError, type Logger } from '../log/logger';
import type { OwnWrites } from '../reconcile/own-writes';
import { forEachLimit } from '../reconcile/pool';
import { compareSequencers, type BucketChange } from './records';

export interface FeedTarget {
  /** The export's (or volume's) name, for logs and routing. */
  name: string;
  bucket: string;
  /** Key prefix of the export ("" or ending in "/"). */
  prefix: string;
  changes: RemoteChanges;
  ownWrites: OwnWrites;
}

export interface FeedOptions {
  coalesceMs?: number;
  maxPending?: number;
  /** Directories re-listed at once. */
  concurrency?: number;
  log: Logger;
}

export interface FeedStatus {
  received: number;
  own: number;
  outsidePrefix: number;
  applied: Record<ChangeOutcome, number>;
  gaps: number;
  overflows: number;
  pending: number;
  lastEventAt?: string;
  lastError?: string;
}

export class ChangeFeed {
  private batch = new Map<string, Map<string, RemoteChange & { sequencer?: string; aws: boolean }>>();
  private pendingKeys = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly coalesceMs: number;
  private readonly maxPending: number;
  private readonly concurrency: number;
  private readonly counts = { received: 0, own: 0, outsidePrefix: 0, gaps: 0, overflows: 0 };
  private readonly applied: Record<ChangeOutcome, number> = { known: 0, 'not-cached': 0, relisted: 0 };
  private lastEventAt: number | undefined;
  private lastError: string | undefined;

  constructor(
    readonly target: FeedTarget,
    private readonly opts: FeedOptions,
  ) {
    this.coalesceMs = opts.coalesceMs ?? 50;
    this.maxPending = opts.maxPending ?? 10_000;
    this.concurrency = opts.concurrency ?? 4;
  }

  /** True if the change is for this export's bucket and prefix. */
  covers(c: BucketChange): boolean {
    return c.bucket === this.target.bucket && c.key.startsWith(this.target.prefix) && c.key !== this.target.prefix;
  }

  /** Takes changes (any bucket or prefix: others are skipped). Never throws, never waits. */
  accept(changes: BucketChange[]): void {
    if (this.closed) return;
    for (const c of changes) {
      if (!this.covers(c)) {
        this.counts.outsidePrefix++;
        continue;
      }
      this.counts.received++;
      this.lastEventAt = Date.now();
      const verdict = this.target.ownWrites.classify(c.key, c.removed, c.etag);
      if (verdict === 'own') this.counts.own++;
      else if (verdict === 'foreign') this.enqueue(c);
      else void verdict.then((v) => (v === 'own' ? this.counts.own++ : this.enqueue(c)));
    }
  }

  /** Events were lost or their order is unknown: every listed directory is listed again when next used. */
  gap(reason: string): void {
    if (this.closed) return;
    this.counts.gaps++;
    this.opts.log.info('bucket events: gap, directories will be listed again', { export: this.target.name, reason });
    // In the same chain as the batches: close() waits for it, nothing touches a closed cache.
    this.flushing = this.flushing.then(() => (this.closed ? undefined : this.target.changes.everythingStale().then(() => undefined)))
      .catch((err: unknown) => this.fail('marking listings stale failed', err));
  }

  status(): FeedStatus {
    return {
      ...this.counts,
      applied: { ...this.applied },
      pending: this.pendingKeys,
      lastEventAt: this.lastEventAt === undefined ? undefined : new Date(this.lastEventAt).toISOString(),
      lastError: this.lastError,
    };
  }

  /** Resolves once everything accepted so far has been applied (tests, shutdown). */
  async settled(): Promise<void> {
    for (;;) {
      const f = this.flushing;
      await f;
      if (this.pendingKeys === 0 && this.flushing === f) return;
      await new Promise((r) => setTimeout(r, this.coalesceMs));
    }
  }

  /** Stops taking events; resolves once what was being applied is done (the cache may close then). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.batch.clear();
    this.pendingKeys = 0;
    await this.flushing.catch(() => undefined);
  }

  private enqueue(c: BucketChange): void {
    if (this.closed) return;
    const rkey = c.key.slice(this.target.prefix.length);
    const dir = parentKey(rkey) ?? '';
    let keys = this.batch.get(dir);
    if (!keys) this.batch.set(dir, (keys = new Map()));
    const prev = keys.get(rkey);
    const aws = c.source === 'aws:s3' || c.source === 'aws.s3';
    // S3's sequencers order the events of one key; elsewhere the later arrival wins.
    if (prev?.sequencer && c.sequencer && prev.aws && aws && compareSequencers(c.sequencer, prev.sequencer) < 0) return;
    if (!prev) this.pendingKeys++;
    keys.set(rkey, { rkey, removed: c.removed, etag: c.etag, atMs: c.atMs, sequencer: c.sequencer, aws });
    if (this.pendingKeys > this.maxPending) {
      this.counts.overflows++;
      this.batch.clear();
      this.pendingKeys = 0;
      this.gap(`more than ${this.maxPending} changed keys waiting`);
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) this.flushing = this.flushing.then(() => this.flush());
    }, this.coalesceMs);
  }

  private async flush(): Promise<void> {
    const batch = this.batch;
    this.batch = new Map();
    await forEachLimit(Array.from(batch.entries()), this.concurrency, async ([dir, keys]) => {
      if (this.closed) return;
      try {
        const outcome = await this.target.changes.directoryChanged(dir, Array.from(keys.values()));
        this.applied[outcome]++;
      } catch (err) {
        this.fail('applying bucket events failed; the TTL will catch up', err, { dir });
      } finally {
        this.pendingKeys -= keys.size;
      }
    });
  }

  private fail(what: string, err: unknown, extra: Record<string, unknown> = {}): void {
    this.lastError = `${new Date().toISOString()} ${what}: ${describeError(err)}`;
    this.opts.log.warn(what, { export: this.target.name, ...extra, err: describeError(err) });
  }
}
