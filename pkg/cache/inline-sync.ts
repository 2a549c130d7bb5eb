// When a small stable write may be written and fdatasynced on the calling thread.
//
// A client doing one thing at a time (a shell loop writing small files, the create row of the
// NFS bench: LOOKUP, CREATE, then one FILE_SYNC WRITE per file) waits for each stable write's
// pwrite and fdatasync. Through the thread pool those are two hand-offs each (~0.1-0.3 ms on this
// 2-vCPU VM); on the calling thread the event loop blocks for the fdatasync instead (~0.1-0.5 ms
// for a small file). Measured through the kernel client, s3files alone, three runs each: create
// 243-277 → 288-326 files/s.
//
// That pays only while nothing else waits. Concurrent stable writes to different files share
// ext4 journal commits when their fdatasyncs run side by side, and would queue behind each other
// inline; a large file's fdatasync can take long. So: only writes of at most INLINE_MAX_BYTES,
// only while no data sync runs on the thread pool, and not a second time in one event-loop turn
// or within BURST_MS of the last inline sync ending (requests that queued up while it blocked):
// either of those means overlapping writers, and the thread pool is used for GROUP_MS.
import { performance } from 'node:perf_hooks';

/** Largest write whose pwrite and fdatasync may run on the calling thread. */
export const INLINE_MAX_BYTES = 64 * 1024;
/** A stable write this soon after an inline sync ended is taken as a second writer, ms. */
const BURST_MS = 0.2;
/** How long overlapping writers keep data syncs on the thread pool, ms. */
const GROUP_MS = 50;

export class InlineSyncPolicy {
  private asyncRunning = 0;
  private lastInlineEnd = -Infinity;
  private groupUntil = 0;
  private inlineThisTurn = false;

  /** Whether a stable write of `bytes` (and then its sync) should run on the calling thread. */
  mayInline(bytes: number): boolean {
    if (bytes > INLINE_MAX_BYTES) return false;
    const now = performance.now();
    if (this.asyncRunning > 0 || this.inlineThisTurn || now - this.lastInlineEnd < BURST_MS) this.groupUntil = now + GROUP_MS;
    return now >= this.groupUntil;
  }

  /** An inline sync is about to run; call the returned function when it has ended. */
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

  /** A sync is starting on the thread pool; call the returned function when it has ended. */
  asyncStarted(): () => void {
    this.asyncRunning++;
    return () => {
      this.asyncRunning--;
    };
  }
}
