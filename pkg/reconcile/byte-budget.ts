// A budget of bytes held in memory by uploads in flight: a small file's whole body, or one part
// of a multipart upload, is read from the cache only once its bytes fit, so 32 jobs with several
// parts each cannot hold more than the budget whatever the file sizes. A request larger than
// the whole budget waits until it is alone (it is never refused, and never deadlocks).

export class ByteBudget {
  private used = 0;
  private readonly waiting: Array<{ bytes: number; wake: () => void }> = [];
  /** Most bytes ever held at once (for tests and status). */
  peak = 0;

  constructor(readonly capacity: number) {
    if (!(capacity > 0)) throw new RangeError(`byte budget ${capacity} must be positive`);
  }

  get inUse(): number {
    return this.used;
  }

  /** Runs `fn` holding `bytes` of the budget (at most the whole budget). */
  async run<T>(bytes: number, fn: () => Promise<T>): Promise<T> {
    const n = Math.min(Math.max(0, bytes), this.capacity);
    // First come, first served: a large request is not overtaken forever by small ones.
    if (this.waiting.length > 0 || this.used + n > this.capacity) await new Promise<void>((wake) => this.waiting.push({ bytes: n, wake }));
    else this.take(n);
    try {
      return await fn();
    } finally {
      this.used -= n;
      this.wakeWaiters();
    }
  }

  private take(n: number): void {
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
  }

  private wakeWaiters(): void {
    while (this.waiting.length > 0 && this.used + this.waiting[0]!.bytes <= this.capacity) {
      const next = this.waiting.shift()!;
      this.take(next.bytes);
      next.wake();
    }
  }
}
