// Unlinking the data files of removed inodes, a little after the removes.
//
// A REMOVE's reply never waited for its data file's unlink: the orphan mark is durable, so a
// crash before the unlink still frees the file (core/recovery.ts), and inode numbers are never
// reused. But an unlink started right after each reply ran alongside the client's next call:
// ~100-200 µs of kernel time on ext4 (with discard) competing for this 2-vCPU machine's CPUs
// and its disk queue. In process, removes at 1 in flight went from ~2,150 to ~2,450/s without
// it. So freed inodes wait here and are unlinked once removes have paused for QUIET_MS, once the
// oldest has waited MAX_DELAY_MS (space comes back within a second even under a stream of
// removes), as soon as MAX_QUEUED are waiting, or when someone needs the space or a clean state
// (settle(): a nearly full cache disk, a clean shutdown). Released unlinks run CONCURRENCY at a
// time, except those settle() waits for.
import { performance } from 'node:perf_hooks';

/** Removes must have paused this long before the queued unlinks start, ms. */
const QUIET_MS = 50;
/** The oldest freed inode waits at most this long, ms. */
const MAX_DELAY_MS = 1000;
/** This many freed inodes waiting start their unlinks at once. */
const MAX_QUEUED = 4096;
/**
 * Unlinks in flight at a time, unless settle() needs them all now. Started all at once, a
 * second's worth of removes (~1,000 unlinks) took every thread-pool thread and, in kernel time,
 * the CPUs for ~0.1 s, while the client was still removing.
 */
const CONCURRENCY = 2;

export class DeferredFrees {
  private queue: number[] = [];
  /** Released from the queue, waiting for a free slot (CONCURRENCY). */
  private released: number[] = [];
  /** ino → its unlink under way. */
  private readonly running = new Map<number, Promise<void>>();
  private timer?: NodeJS.Timeout;
  private lastQueuedAt = 0;
  private firstQueuedAt = 0;

  /** `free` unlinks one inode's data file; it must not reject. */
  constructor(private readonly free: (ino: number) => Promise<void>) {}

  /** Freed inodes waiting for removes to pause (not yet released to run). */
  get queued(): number {
    return this.queue.length;
  }

  add(ino: number): void {
    this.lastQueuedAt = performance.now();
    if (this.queue.length === 0) this.firstQueuedAt = this.lastQueuedAt;
    this.queue.push(ino);
    if (this.queue.length >= MAX_QUEUED) this.startAll();
    else this.arm(QUIET_MS);
  }

  /**
   * Starts every queued unlink now; resolves when they and all earlier ones are done, except
   * the one of `except`: a caller holding that inode's file lock (a write to a file removed
   * meanwhile) would otherwise wait for an unlink that waits for it.
   */
  async settle(except?: number): Promise<void> {
    this.startAll();
    for (const ino of this.released.splice(0)) this.start(ino);
    await Promise.all(Array.from(this.running).filter(([ino]) => ino !== except).map(([, p]) => p));
  }

  /** Resolves when the unlinks already started are done; queued ones stay queued. */
  async settleStarted(): Promise<void> {
    await Promise.all(this.running.values());
  }

  private arm(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = performance.now();
      const quietFor = now - this.lastQueuedAt;
      const waitedFor = now - this.firstQueuedAt;
      if (quietFor >= QUIET_MS || waitedFor >= MAX_DELAY_MS) this.startAll();
      else this.arm(Math.min(QUIET_MS - quietFor, MAX_DELAY_MS - waitedFor));
    }, ms);
    this.timer.unref();
  }

  /** Releases every queued unlink; they run CONCURRENCY at a time. */
  private startAll(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.released.push(...this.queue);
    this.queue = [];
    this.pump();
  }

  private pump(): void {
    while (this.running.size < CONCURRENCY && this.released.length > 0) this.start(this.released.shift()!);
  }

  private start(ino: number): void {
    const p = this.free(ino);
    this.running.set(ino, p);
    void p.finally(() => {
      this.running.delete(ino);
      this.pump();
    });
  }
}
