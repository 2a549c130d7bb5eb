// How many reconciler jobs may run at once: the configured number, halved when the store says
// it is throttling us (a job failed with ThrottledError after the store's own retries) and grown
// back by one per run of successes (additive increase, multiplicative decrease, as TCP does).
// The store's limiter and retries absorb short bursts of 503 SlowDown; this keeps a long
// overload from turning into a wall of failing jobs that all retry at once.
import { ThrottledError } from '../s3/errors';

/** Successes needed to add one slot back. */
const GROW_EVERY = 8;
/** At most one halving per this long: the failures of one overload arrive together. */
const SHRINK_COOLDOWN_MS = 1000;

export class JobWindow {
  private current: number;
  private successes = 0;
  private lastShrink = -Infinity;

  constructor(
    readonly max: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`job concurrency ${max} must be a positive integer`);
    this.current = max;
  }

  get size(): number {
    return this.current;
  }

  succeeded(): void {
    if (this.current >= this.max) return;
    if (++this.successes >= GROW_EVERY) {
      this.successes = 0;
      this.current++;
    }
  }

  /** A job failed: shrinks the window if the store was throttling. True if it shrank. */
  failed(err: unknown): boolean {
    if (!isThrottle(err)) return false;
    const t = this.now();
    if (t - this.lastShrink < SHRINK_COOLDOWN_MS) return false;
    this.lastShrink = t;
    this.successes = 0;
    const before = this.current;
    this.current = Math.max(1, Math.floor(this.current / 2));
    return this.current < before;
  }
}

function isThrottle(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof ThrottledError) return true;
  }
  return false;
}
