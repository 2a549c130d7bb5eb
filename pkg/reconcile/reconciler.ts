// The write-back reconciler of one linked export: takes the cache's persistent queue (pending
// inodes, tombstones) and makes the bucket match, a few jobs at a time.
//
// Scheduling: a changed inode is due once it has been quiet for syncDelayMs (default 2 s), or
// at the latest maxDelayMs after its first unsynced change (a file written without pause
// still reaches the bucket; its later writes go in the next upload). Tombstones are due a
// little after they were made, so that a rename over a file replaces the object in one
// conditional write rather than a DELETE and a PUT. On start, everything queued by the
// previous process (kill -9 included) is due at once and multipart uploads it left are
// aborted. Failed jobs are retried with exponential backoff and jitter, forever: the queue is
// the source of truth, and status() shows what is failing.
import type { CacheSync } from '../cache';
import { RwLock } from '../cache/rw-lock';
import { describeError, logger, type Logger } from '../log/logger';
import type { ObjectStore } from '../s3/object-store';
import { KeyLocks, SyncStats, type Outcome, type ReconcileContext } from './context';
import type { KeyMap } from './key-map';
import { syncDirectory } from './sync-dir';
import { syncNonDirectory } from './sync-file';
import { runTombstone } from './tombstone';
import { DEFAULT_TUNING, type UploadTuning } from './upload';

export interface ReconcilerOptions {
  sync: CacheSync;
  store: ObjectStore;
  keys: KeyMap;
  /** Quiet time before a changed file is uploaded (default 2000 ms). */
  syncDelayMs?: number;
  /** Longest a changed file waits for quiet (default 30 × syncDelayMs, at least 10 s). */
  maxDelayMs?: number;
  /** Jobs at once (default 4); each may run several S3 requests (parts, copies). */
  concurrency?: number;
  tuning?: Partial<UploadTuning>;
  retryBaseMs?: number;
  retryMaxMs?: number;
  log?: Logger;
  /** The namespace lock, shared with the listings of the export's ObjectStoreSource. */
  namespace?: RwLock;
}

export interface ReconcilerStatus {
  pendingFiles: number;
  pendingBytes: number;
  tombstones: number;
  queued: number;
  running: number;
  lastSyncAt?: string;
  failing: number;
  stats: SyncStats;
  recentErrors: Array<{ at: string; job: string; error: string }>;
}

const TICK_MS = 100;
const TOMBSTONE_SCAN_MS = 1000;

export class Reconciler {
  readonly ctx: ReconcileContext;
  private readonly sync: CacheSync;
  private readonly syncDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly concurrency: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly due = new Map<string, number>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, number>();
  private readonly firstChange = new Map<number, number>();
  private readonly recentErrors: ReconcilerStatus['recentErrors'] = [];
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private tombstoneScanDue = true;
  private lastTombstoneScan = 0;
  private urgent = false;
  private lastSyncAt: number | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(opts: ReconcilerOptions) {
    this.sync = opts.sync;
    this.syncDelayMs = opts.syncDelayMs ?? 2000;
    this.maxDelayMs = opts.maxDelayMs ?? Math.max(10_000, 30 * this.syncDelayMs);
    this.concurrency = opts.concurrency ?? 4;
    this.retryBaseMs = opts.retryBaseMs ?? 1000;
    this.retryMaxMs = opts.retryMaxMs ?? 60_000;
    this.ctx = {
      sync: opts.sync,
      store: opts.store,
      keys: opts.keys,
      tuning: { ...DEFAULT_TUNING, ...opts.tuning },
      log: opts.log ?? logger('reconcile'),
      stats: new SyncStats(),
      keyLocks: new KeyLocks(),
      namespace: opts.namespace ?? new RwLock(),
      tombstonesAdded: () => (this.tombstoneScanDue = true),
    };
  }

  /** Aborts multipart uploads a crashed process left, queues everything pending, starts. */
  async start(): Promise<void> {
    for (const [ino, uploadId] of this.sync.leftoverUploads()) {
      const key = this.sync.snapshot(ino)?.desiredKey;
      if (key !== undefined) await this.ctx.store.abortMultipartUpload(this.ctx.keys.toS3(key), uploadId).catch(() => undefined);
      await this.sync.setUploadId(ino, undefined);
    }
    const now = Date.now();
    for (const ino of this.sync.pendingInodes()) this.due.set(`i:${ino}`, now);
    this.unsubscribe = this.sync.onChange((ino, kind) => this.changed(ino, kind));
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    this.tick();
  }

  /** Stops taking jobs and waits for the running ones. What is queued stays queued (in LMDB). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    await Promise.allSettled(Array.from(this.running.values()));
  }

  /**
   * Uploads everything now, ignoring the quiet delay, and resolves once the queue is empty
   * (or rejects after timeoutMs). For tests, shutdown and the sync-on-commit mode.
   */
  async drain(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.urgent = true;
    try {
      for (;;) {
        const s = this.sync.stats();
        if (s.pendingFiles === 0 && s.tombstones === 0 && this.running.size === 0) return;
        if (Date.now() > deadline) throw new Error(`sync not finished after ${timeoutMs} ms: ${JSON.stringify(this.status())}`);
        for (const ino of this.sync.pendingInodes()) if (!this.due.has(`i:${ino}`) && !this.running.has(`i:${ino}`)) this.due.set(`i:${ino}`, 0);
        this.tombstoneScanDue = true;
        this.lastTombstoneScan = 0;
        for (const id of this.due.keys()) if (!this.failures.has(id)) this.due.set(id, 0);
        this.tick();
        await new Promise<void>((resolve) => {
          this.idleWaiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    } finally {
      this.urgent = false;
    }
  }

  /**
   * Uploads `ino` now (no quiet delay, no backoff) and resolves once it is in the bucket as it
   * is, or rejects after timeoutMs: the sync-on-commit mode. Its directory markers and deletions
   * follow as usual.
   */
  async syncNow(ino: number, timeoutMs = 60_000): Promise<void> {
    const id = `i:${ino}`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = this.running.get(id);
      if (!running && !this.sync.isPending(ino)) return;
      if (Date.now() > deadline) {
        const last = this.recentErrors.filter((e) => e.job === id).pop();
        throw new Error(`inode ${ino} not in the bucket after ${timeoutMs} ms${last ? `: ${last.error}` : ''}`);
      }
      if (!running) {
        this.due.set(id, 0);
        this.tick();
      }
      await Promise.race([this.running.get(id) ?? Promise.resolve(), new Promise((r) => setTimeout(r, 50))]);
    }
  }

  status(): ReconcilerStatus {
    const s = this.sync.stats();
    return {
      ...s,
      queued: this.due.size,
      running: this.running.size,
      lastSyncAt: this.lastSyncAt === undefined ? undefined : new Date(this.lastSyncAt).toISOString(),
      failing: this.failures.size,
      stats: this.ctx.stats,
      recentErrors: [...this.recentErrors],
    };
  }

  private changed(ino: number, kind: string): void {
    if (kind === 'removed') {
      this.firstChange.delete(ino);
      this.tombstoneScanDue = true;
      return;
    }
    if (kind === 'entries') return;
    const now = Date.now();
    const first = this.firstChange.get(ino) ?? now;
    this.firstChange.set(ino, first);
    const id = `i:${ino}`;
    if (!this.failures.has(id)) this.due.set(id, this.urgent ? now : Math.min(now + this.syncDelayMs, first + this.maxDelayMs));
  }

  private tick(): void {
    if (!this.timer) return;
    const now = Date.now();
    if (this.tombstoneScanDue && now - this.lastTombstoneScan >= TOMBSTONE_SCAN_MS) {
      this.tombstoneScanDue = false;
      this.lastTombstoneScan = now;
      for (const [key, t] of this.sync.tombstones()) {
        const id = `t:${key}`;
        if (!this.due.has(id) && !this.running.has(id)) this.due.set(id, this.urgent ? now : t.at + this.syncDelayMs + 500);
      }
    }
    for (const [id, at] of this.due) {
      if (this.running.size >= this.concurrency) break;
      if (at > now || this.running.has(id)) continue;
      this.due.delete(id);
      const job = this.run(id).finally(() => {
        this.running.delete(id);
        this.tick();
      });
      this.running.set(id, job);
    }
    if (this.running.size === 0 && (this.due.size === 0 || this.urgent)) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async run(id: string): Promise<void> {
    try {
      const outcome = await this.job(id);
      if (outcome.kind === 'later') {
        this.due.set(id, Date.now() + (this.urgent ? Math.min(outcome.ms, 50) : outcome.ms));
        return;
      }
      this.failures.delete(id);
      if (id.startsWith('i:')) this.firstChange.delete(Number(id.slice(2)));
      this.lastSyncAt = Date.now();
    } catch (err) {
      const n = (this.failures.get(id) ?? 0) + 1;
      this.failures.set(id, n);
      this.ctx.stats.errors++;
      const delay = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (n - 1)) * (0.5 + Math.random() / 2);
      const error = describeError(err);
      this.recentErrors.push({ at: new Date().toISOString(), job: id, error });
      if (this.recentErrors.length > 20) this.recentErrors.shift();
      this.ctx.log.warn('sync job failed; will retry', { job: id, attempts: n, retryInMs: Math.round(delay), err: error });
      this.due.set(id, Date.now() + delay);
    }
  }

  private job(id: string): Promise<Outcome> {
    if (id.startsWith('t:')) return runTombstone(this.ctx, id.slice(2), this.syncDelayMs);
    const ino = Number(id.slice(2));
    const type = this.sync.snapshot(ino)?.type;
    if (type === undefined) return Promise.resolve({ kind: 'done' });
    return type === 'dir' ? syncDirectory(this.ctx, ino) : syncNonDirectory(this.ctx, ino);
  }
}
