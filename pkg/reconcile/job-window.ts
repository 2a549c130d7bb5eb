// How many reconciler jobs may run at once: the configured number, halved when the store says
// it is throttling us (a job failed with ThrottledError after the store's own retries) and grown
// back by one per 8 successes (../s3/aimd.ts).
// The store's limiter and retries absorb short bursts of 503 SlowDown; this keeps a long
// overload from turning into a wall of failing jobs that all retry at once.
import { Aimd } from '../s3/aimd';
import { ThrottledError } from '../s3/errors';

/** Successes needed to add one slot back. */
const GROW_EVERY = 8;
/** At most one halving per this long: the failures of one overload arrive together. */
const SHRINK_COOLDOWN_MS = 1000;

export class JobWindow {
  private readonly aimd: Aimd;

  constructor(
    readonly max: number,
    now: () => number = Date.now,
  ) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`job concurrency ${max} must be a positive integer`);
    this.aimd = new Aimd(max, { min: 1, coolDownMs: SHRINK_COOLDOWN_MS, growEvery: () => GROW_EVERY, now });
  }

  get size(): number {
    return this.aimd.value;
  }

  succeeded(): void {
    this.aimd.grow();
  }

  /** A job failed: shrinks the window if the store was throttling. True if it shrank. */
  failed(err: unknown): boolean {
    return isThrottle(err) && this.aimd.cut();
  }
}

function isThrottle(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof ThrottledError) return true;
  }
  return false;
}
