// Memory for replies, bounded per connection and for the whole server. A call reserves the
// most its reply can take before it starts (its program's replyBytesBound, else a small
// default); the reservation becomes the reply's real size when it is ready, and is given back
// once the socket has handed the reply to the kernel. A client that never reads its replies
// therefore holds at most its connection's share, and all of them together at most the total:
// past it, connections wait for memory instead of reading more calls.

/** A connection holding nothing may always run one call this small, whatever the total. */
export const SMALL_REPLY_BYTES = 64 * 1024;

export class ReplyBudget {
  private used = 0;
  private readonly waiters = new Set<() => void>();
  private wakeScheduled = false;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`reply memory limit must be a positive integer, got ${limit}`);
  }

  /** Bytes reserved or held by replies not yet written. */
  get bytes(): number {
    return this.used;
  }

  /**
   * Reserves `n` bytes if the total allows it. `exempt`: the caller holds nothing and `n` is
   * small, so it may go past the total (no client is locked out by others' unread replies; the
   * overshoot is at most one small reply per connection).
   */
  tryTake(n: number, exempt: boolean): boolean {
    if (this.used + n > this.limit && !(exempt && n <= SMALL_REPLY_BYTES)) return false;
    this.used += n;
    return true;
  }

  /** Changes a reservation by `delta` bytes (a reply turned out smaller or larger). */
  adjust(delta: number): void {
    this.used += delta;
    if (delta < 0) this.wake();
  }

  give(n: number): void {
    this.adjust(-n);
  }

  /** Calls `fn` once, the next time memory is given back. */
  waitFor(fn: () => void): void {
    this.waiters.add(fn);
  }

  cancel(fn: () => void): void {
    this.waiters.delete(fn);
  }

  private wake(): void {
    if (this.waiters.size === 0 || this.wakeScheduled) return;
    this.wakeScheduled = true;
    // Not from inside the caller's stack: give() runs in another connection's write callback.
    setImmediate(() => {
      this.wakeScheduled = false;
      const waiting = [...this.waiters];
      this.waiters.clear();
      for (const fn of waiting) fn();
    });
  }
}
