// Additive increase, multiplicative decrease (as TCP and the AWS SDKs' adaptive retry mode do): a
// number of things at once that halves when the server says it is overloaded and grows back by
// one after enough successes. The S3 store's request limit (limiter.ts) and the reconciler's
// job window (pkg/reconcile/job-window.ts) both follow it, with their own constants.

export interface AimdOptions {
  /** Never below this. */
  min: number;
  /** At most one halving per this long: the failures of one overload arrive together. */
  coolDownMs: number;
  /** Successes that add one, given the value now (e.g. the value itself: one per round). */
  growEvery: (value: number) => number;
  /** Clock in ms (tests). */
  now?: () => number;
}

export class Aimd {
  private current: number;
  /** Successes counted toward the next +1. */
  private credit = 0;
  private lastCut = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;

  constructor(
    readonly max: number,
    private readonly o: AimdOptions,
  ) {
    this.current = max;
    this.now = o.now ?? (() => performance.now());
  }

  get value(): number {
    return this.current;
  }

  /** An overload: halves (once per cool-down, not below min). True if it went down. */
  cut(): boolean {
    const now = this.now();
    if (now - this.lastCut < this.o.coolDownMs) return false;
    this.lastCut = now;
    this.credit = 0;
    const before = this.current;
    this.current = Math.max(this.o.min, Math.floor(this.current / 2));
    return this.current < before;
  }

  /** A success: true if it made the value grow by one. */
  grow(): boolean {
    if (this.current >= this.max) return false;
    this.credit += 1 / this.o.growEvery(this.current);
    if (this.credit < 1 - 1e-9) return false;
    this.credit = 0;
    this.current++;
    return true;
  }
}
