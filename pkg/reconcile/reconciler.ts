// The write-back reconciler of one linked export: takes the cache's persistent queue (pending
// inodes, tombstones) and makes the bucket match, many jobs at a time.
//
// Scheduling: a changed inode is due once it has been quiet for syncDelayMs (default 2 s), or
// at the latest maxDelayMs after its first unsynced change (a file written without pause
// still reaches the bucket; its later writes go in the next upload). Tombstones are due a
// little after they were made, so that a rename over a file replaces the object in one
// conditional write rather than a DELETE and a PUT. On start, everything queued by the
// previous process (kill -9 included) is due at once and multipart uploads it left are
// aborted. Failed jobs are retried with exponential backoff and jitter, forever: the queue is
// the source of truth, and status() shows what is failing.
//
// Parallelism: up to `concurrency` jobs (default 32) run at once, so a burst of small files
// leaves the node tens of PUTs at a time (the latency of one request, not of all of them); the
// bytes they hold in memory are bounded by a ByteBudget; the window shrinks while the store
// throttles (job-window.ts). Nothing here is awaited by the file system's operations (except
// COMMIT in the sync-on-commit mode): a client writes at the cache disk's speed.
//
// Yielding to writers: uploads cost the node CPU (signing, HTTP, reading the cache, recording
// each upload in the metadata log) that the NFS server needs for the writes coming in. While
// clients write (changes to file data less than WRITERS_QUIET_MS apart), no upload starts for
// the first holdWhileWritingMs (10 s) of the burst, and at most JOBS_WHILE_WRITING after that,
// so a `cp -r` onto the mount keeps the pace of a local export; the full window opens as soon as
// the writes pause. A writer that never pauses still has its files uploaded, a few at a time.
import type { CacheSync } from '../cache';
import { describeError, logger, type Logger } from '../log/logger';
import type { ObjectStore } from '../s3/object-store';
import { ByteBudget } from './byte-budget';
import { Foreground } from './foreground';
import { KeyLocks, SyncStats, UploadsInFlight, type Outcome, type ReconcileContext, type UploadInFlight } from './context';
import { DueQueue } from './due-queue';
import { JobWindow } from './job-window';
import type { KeyMap } from './key-map';
import { MoveFence } from './move-fence';
import type { MetadataStyle } from './object-meta';
import { syncDirectory } from './sync-dir';
import { syncNonDirectory } from './sync-file';
import { recheckUnsyncable, shortKey } from './too-long';
import { runTombstones } from './tombstone';
import { DEFAULT_TUNING, type UploadTuning } from './upload';

export interface ReconcilerOptions {
  sync: CacheSync;
  store: ObjectStore;
  keys: KeyMap;
  /** Quiet time before a changed file is uploaded (default 2000 ms). */
  syncDelayMs?: number;
  /** Longest a changed file waits for quiet (default 30 × syncDelayMs, at least 10 s). */
  maxDelayMs?: number;
  /**
   * Jobs at once (default 32; fewer while the store throttles); each may run several S3
   * requests (parts, copies), all within the store's own limit of requests in flight.
   */
  concurrency?: number;
  /** Bytes of file contents that uploads in flight may hold in memory (default 128 MiB). */
  uploadBufferBytes?: number;
  tuning?: Partial<UploadTuning>;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How long into a burst of client writes no upload starts (default 10 s; see "Yielding to writers"). */
  holdWhileWritingMs?: number;
  log?: Logger;
  /** Directory moves in progress, shared with the export's ObjectStoreSource (it hides them from listings). */
  fence?: MoveFence;
  /** The export's client-facing requests in flight (from its ObjectStoreSource). */
  foreground?: Foreground;
  /** Which metadata keys uploads carry (default s3fs's; object-meta.ts). */
  metadataStyle?: MetadataStyle;
}

export interface ReconcilerStatus {
  pendingFiles: number;
  pendingBytes: number;
  tombstones: number;
  queued: number;
  running: number;
  /** Jobs allowed at once now (the configured number, less while the store throttles). */
  window: number;
  lastSyncAt?: string;
  failing: number;
  stats: SyncStats;
  recentErrors: Array<{ at: string; job: string; error: string }>;
  /** Uploads of file contents on the wire now, with the bytes each has in the bucket so far. */
  uploading: UploadInFlight[];
  /** Inodes that cannot be in the bucket as named (PathTooLong), and the first few of them. */
  unsyncable: number;
  unsyncableFiles: Array<{ key: string; keyBytes: number; reason: string }>;
}

const TICK_MS = 100;
/** Jobs at most while clients write, and how long after their last write that lasts. */
export const JOBS_WHILE_WRITING = 4;
export const WRITERS_QUIET_MS = 300;
const TOMBSTONE_SCAN_MS = 1000;
/** Tombstones carried out by one job. */
const TOMBSTONE_BATCH = 500;

export class Reconciler {
  readonly ctx: ReconcileContext;
  private readonly sync: CacheSync;
  private readonly syncDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly window: JobWindow;
  /** When a client last changed file data (wall-clock ms): uploads yield while clients write. */
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  /** When the current burst of writes began (writes less than WRITERS_QUIET_MS apart). */
  private writingSince = Number.NEGATIVE_INFINITY;
  /** Jobs a caller waits for (syncNow): they do not yield to writers. */
  private readonly awaited = new Set<string>();
  private readonly holdWhileWritingMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly due = new DueQueue();
  private readonly running = new Map<string, Promise<void>>();
  /**
   * Jobs a directory move in progress turned away, with when they are due: out of `due` until
   * a move ends. Left in `due`, each would be tried every few hundred ms, and every try walks `due`:
   * thousands of inodes under a large move made that quadratic and starved the move itself.
   */
  private readonly parked = new Map<string, number>();
  private unsubscribeFence: (() => void) | undefined;
  /** Jobs running (a batch of tombstones is one job). */
  private jobs = 0;
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
  private recheckDue = false;
  private rechecking = false;

  constructor(opts: ReconcilerOptions) {
    this.sync = opts.sync;
    this.syncDelayMs = opts.syncDelayMs ?? 2000;
    this.maxDelayMs = opts.maxDelayMs ?? Math.max(10_000, 30 * this.syncDelayMs);
    this.window = new JobWindow(opts.concurrency ?? 32);
    this.retryBaseMs = opts.retryBaseMs ?? 1000;
    this.holdWhileWritingMs = opts.holdWhileWritingMs ?? 10_000;
    this.retryMaxMs = opts.retryMaxMs ?? 60_000;
    this.ctx = {
      sync: opts.sync,
      store: opts.store,
      keys: opts.keys,
      tuning: { ...DEFAULT_TUNING, ...opts.tuning },
      metadataStyle: opts.metadataStyle ?? 's3fs',
      log: opts.log ?? logger('reconcile'),
      stats: new SyncStats(),
      inflight: new UploadsInFlight(),
      keyLocks: new KeyLocks(),
      fence: opts.fence ?? new MoveFence(),
      budget: new ByteBudget(opts.uploadBufferBytes ?? 128 * 1024 * 1024),
      foreground: opts.foreground ?? new Foreground(),
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
    const q = this.sync.stats();
    if (q.pendingFiles > 0 || q.tombstones > 0) {
      this.ctx.log.info(`resuming ${plural(q.pendingFiles, 'upload')} (${q.pendingBytes} bytes) and ${plural(q.tombstones, 'deletion')}`, { ...q });
    }
    this.unsubscribe = this.sync.onChange((ino, kind) => this.changed(ino, kind));
    this.unsubscribeFence = this.ctx.fence.onMoveEnd(() => this.unpark());
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    this.tick();
  }

  /** Stops taking jobs and waits for the running ones. What is queued stays queued (in LMDB). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribeFence?.();
    const uploading = this.ctx.inflight.list();
    if (this.running.size > 0) {
      this.ctx.log.info(`stopping: waiting for ${plural(this.running.size, 'sync job')} in flight; the rest stays queued on disk`, {
        uploading: uploading.slice(0, 10).map((u) => ({ key: u.key, size: u.size, doneBytes: u.doneBytes })),
        ...this.sync.stats(),
      });
    }
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
        for (const ino of this.sync.pendingInodes()) {
          const id = `i:${ino}`;
          if (!this.due.has(id) && !this.running.has(id) && !this.parked.has(id)) this.due.set(id, 0);
        }
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
        this.awaited.delete(id);
        const last = this.recentErrors.filter((e) => e.job === id).pop();
        throw new Error(`inode ${ino} not in the bucket after ${timeoutMs} ms${last ? `: ${last.error}` : ''}`);
      }
      if (!running) {
        this.parked.delete(id);
        this.due.set(id, 0);
        this.awaited.add(id);
        this.tick();
      }
      await Promise.race([this.running.get(id) ?? Promise.resolve(), new Promise((r) => setTimeout(r, 50))]);
    }
  }

  status(): ReconcilerStatus {
    const s = this.sync.stats();
    return {
      ...s,
      queued: this.due.size + this.parked.size,
      running: this.running.size,
      window: this.window.size,
      lastSyncAt: this.lastSyncAt === undefined ? undefined : new Date(this.lastSyncAt).toISOString(),
      failing: this.failures.size,
      stats: this.ctx.stats,
      recentErrors: [...this.recentErrors],
      uploading: this.ctx.inflight.list(),
      unsyncableFiles: s.unsyncable > 0 ? this.sync.unsyncable(20).map((u) => ({ key: shortKey(u.key), keyBytes: u.keyBytes, reason: u.reason })) : [],
    };
  }

  private changed(ino: number, kind: string): void {
    if (kind === 'data') {
      const now = Date.now();
      if (now - this.lastWriteAt >= WRITERS_QUIET_MS) this.writingSince = now;
      this.lastWriteAt = now;
    }
    if (kind === 'removed') {
      this.firstChange.delete(ino);
      this.tombstoneScanDue = true;
      return;
    }
    if (kind === 'entries') return;
    // A rename above an unsyncable inode may make its key fit (checked at the next tick).
    if (kind === 'metadata' && !this.recheckDue && this.sync.unsyncable(1).length > 0) this.recheckDue = true;
    const now = Date.now();
    const first = this.firstChange.get(ino) ?? now;
    this.firstChange.set(ino, first);
    const id = `i:${ino}`;
    if (!this.failures.has(id)) {
      const at = this.urgent ? now : Math.min(now + this.syncDelayMs, first + this.maxDelayMs);
      // A job a move turned away waits for the move's end (which re-queues it, see unpark): a
      // change meanwhile (an import's attributes, a write) only moves when it is due then.
      if (this.parked.has(id)) this.parked.set(id, at);
      else this.due.set(id, at);
    }
  }

  /** A directory move ended: the jobs it turned away go back to the queue (due at once, tombstones after their delay). */
  private unpark(): void {
    const now = Date.now();
    for (const [id, at] of this.parked) if (!this.due.has(id) && !this.running.has(id)) this.due.set(id, this.urgent ? now : at);
    this.parked.clear();
    this.tick();
  }

  private tick(): void {
    if (!this.timer) return;
    const now = Date.now();
    if (this.recheckDue && !this.rechecking) this.recheck();
    if (this.tombstoneScanDue && now - this.lastTombstoneScan >= TOMBSTONE_SCAN_MS) {
      this.tombstoneScanDue = false;
      this.lastTombstoneScan = now;
      for (const [key, t] of this.sync.tombstones()) {
        const id = `t:${key}`;
        if (!this.due.has(id) && !this.running.has(id) && !this.parked.has(id)) this.due.set(id, this.urgent ? now : t.at + this.syncDelayMs + 500);
      }
    }
    // Draining (shutdown, sync-on-commit, tests) does not yield: someone waits for the bucket.
    const writing = !this.urgent && now - this.lastWriteAt < WRITERS_QUIET_MS;
    const limit = !writing ? this.window.size : now - this.writingSince < this.holdWhileWritingMs ? 0 : Math.min(JOBS_WHILE_WRITING, this.window.size);
    // Taken earliest due first; what cannot start now (its inode's previous job still runs) goes
    // back after the loop.
    const busy: Array<{ id: string; at: number }> = [];
    while (this.jobs < limit) {
      const next = this.due.take(now);
      if (!next) break;
      if (!this.startable(next, busy)) continue;
      // Deletions go in batches (one DeleteObjects, one transaction); the rest one at a time.
      const ids = [next.id];
      while (next.id.startsWith('t:') && ids.length < TOMBSTONE_BATCH) {
        const more = this.due.take(now, true);
        if (!more) break;
        if (this.startable(more, busy)) ids.push(more.id);
      }
      this.launch(ids);
    }
    // Jobs a caller waits for (syncNow) do not yield to writers.
    for (const id of this.awaited) {
      if (this.jobs >= this.window.size) break;
      const at = this.due.get(id);
      if (at === undefined || at > now || this.running.has(id)) continue;
      this.due.delete(id);
      this.launch([id]);
    }
    for (const b of busy) this.due.set(b.id, b.at);
    if (this.running.size === 0 && (this.due.size === 0 || this.urgent)) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Unsyncable inodes whose key fits after a rename go back in the queue (too-long.ts). */
  private recheck(): void {
    this.recheckDue = false;
    this.rechecking = true;
    recheckUnsyncable(this.ctx)
      .then((inos) => {
        for (const ino of inos) this.due.set(`i:${ino}`, Date.now());
        if (inos.length > 0) this.ctx.log.info(`${plural(inos.length, 'file')} no longer too long for S3 after a rename: queued for upload`);
      })
      .catch((err: unknown) => this.ctx.log.warn('could not recheck unsyncable files', { err: describeError(err) }))
      .finally(() => (this.rechecking = false));
  }

  /**
   * Whether a job taken from the schedule may start: not while its previous run goes on (kept
   * in `busy`, rescheduled after the tick), and a deletion under a directory move in progress
   * waits for the move (the move carries out its own).
   */
  private startable(job: { id: string; at: number }, busy: Array<{ id: string; at: number }>): boolean {
    if (this.running.has(job.id)) {
      busy.push(job);
      return false;
    }
    if (job.id.startsWith('t:') && this.ctx.fence.blocks(job.id.slice(2))) {
      this.parked.set(job.id, job.at);
      return false;
    }
    return true;
  }

  private launch(ids: string[]): void {
    for (const i of ids) this.awaited.delete(i);
    this.jobs++;
    const job = this.run(ids).finally(() => {
      this.jobs--;
      for (const i of ids) this.running.delete(i);
      this.tick();
    });
    for (const i of ids) this.running.set(i, job);
  }

  private async run(ids: string[]): Promise<void> {
    try {
      const outcomes = await this.job(ids);
      for (const id of ids) {
        const outcome = outcomes.get(id);
        if (outcome?.kind === 'later') {
          if (outcome.fenced) this.ctx.stats.deferredByMove++;
          if (outcome.fenced && this.ctx.fence.moving > 0) {
            this.parked.set(id, Date.now());
            continue;
          }
          this.due.set(id, Date.now() + (this.urgent ? Math.min(outcome.ms, 50) : outcome.ms));
          continue;
        }
        this.failures.delete(id);
        if (id.startsWith('i:')) this.firstChange.delete(Number(id.slice(2)));
      }
      this.window.succeeded();
      this.lastSyncAt = Date.now();
    } catch (err) {
      const error = describeError(err);
      if (this.window.failed(err)) this.ctx.log.warn('the store is throttling; fewer sync jobs at once', { jobs: this.window.size, err: error });
      this.ctx.stats.errors++;
      this.recentErrors.push({ at: new Date().toISOString(), job: ids.length > 1 ? `${ids[0]} (+${ids.length - 1})` : ids[0]!, error });
      if (this.recentErrors.length > 20) this.recentErrors.shift();
      for (const id of ids) {
        const n = (this.failures.get(id) ?? 0) + 1;
        this.failures.set(id, n);
        const delay = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (n - 1)) * (0.5 + Math.random() / 2);
        this.due.set(id, Date.now() + delay);
        if (id === ids[0]) this.ctx.log.warn('sync job failed; will retry', { job: id, batch: ids.length, attempts: n, retryInMs: Math.round(delay), err: error });
      }
    }
  }

  private async job(ids: string[]): Promise<Map<string, Outcome>> {
    if (ids[0]!.startsWith('t:')) {
      const later = await runTombstones(this.ctx, ids.map((id) => id.slice(2)), this.syncDelayMs);
      return new Map(Array.from(later, ([key, o]) => [`t:${key}`, o]));
    }
    const id = ids[0]!;
    const ino = Number(id.slice(2));
    const type = this.sync.snapshot(ino)?.type;
    if (type === undefined) return new Map();
    return new Map([[id, await (type === 'dir' ? syncDirectory(this.ctx, ino) : syncNonDirectory(this.ctx, ino))]]);
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
