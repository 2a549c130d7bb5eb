// Whether a blocking step (an fdatasync, a synced LMDB commit) runs on the calling thread or is
// handed to another thread where overlapping callers share it.
//
// A client doing one thing at a time (rm -rf, a shell loop writing small files, the create row
// of the NFS bench: LOOKUP, CREATE, then one FILE_SYNC WRITE per file) waits for every hand-off
// to a thread pool or to lmdb's writer thread: ~0.1-0.3 ms each on this 2-vCPU VM, around a sync
// of ~0.1-0.5 ms. On the calling thread the event loop blocks for the sync instead. Users:
// - data-store.ts: a small stable write's pwrite and fdatasync. Measured through the kernel
//   client, s3files alone, three runs each: create 243-277 → 288-326 files/s.
// - metadata-store.ts (synced commits): a lone transaction commits with transactionSync here
//   instead of through lmdb's writer thread (~0.80 → ~0.46 ms for a 7-table transaction).
//
// That pays only while nothing else waits: overlapping callers share one sync on the other
// thread (a group commit, ext4 journal commits) and would queue behind each other here. So it
// runs here only while nothing runs on the other thread, not a second time in one event-loop
// turn, and not within `burstMs` of the last one here ending (requests that queued up while it
// blocked); any of those means overlapping callers, and the other thread is used for GROUP_MS.
import { performance } from 'node:perf_hooks';

/** Largest write whose pwrite and fdatasync may run on the calling thread. */
export const INLINE_MAX_BYTES = 64 * 1024;
/** How long overlapping callers keep the work on the other thread, ms. */
const GROUP_MS = 50;

export class InlineSyncPolicy {
  private asyncRunning = 0;
  private lastInlineEnd = -Infinity;
  private groupUntil = 0;
  private inlineThisTurn = false;

  /** @param burstMs a call this soon after an inline one ended is taken as a second caller */
  constructor(private readonly burstMs = 0) {}

  /** Whether the next step (for a write, of `bytes`) should run on the calling thread. */
  mayInline(bytes = 0): boolean {
    if (bytes > INLINE_MAX_BYTES) return false;
    const now = performance.now();
    if (this.asyncRunning > 0 || this.inlineThisTurn || now - this.lastInlineEnd < this.burstMs) this.groupUntil = now + GROUP_MS;
    return now >= this.groupUntil;
  }

  /** A step is about to run on the calling thread; call the returned function when it has ended. */
  inlineStarted(): () => void {
    if (!this.inlineThisTurn) {
      this.inlineThisTurn = true;
      setImmediate(() => {
        this.inlineThisTurn = false;
      });
    }
    return () => {
      this.lastInlineEnd = performance.now();
    };
  }

  /** A step is handed to the other thread; call the returned function when it has ended. */
  asyncStarted(): () => void {
    this.asyncRunning++;
    return () => {
      this.asyncRunning--;
    };
  }
}
