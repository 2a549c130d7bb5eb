// A counting semaphore for the S3 requests of one store, whose limit adapts to the server:
// at most `max` requests in flight (a burst of uploads or reads cannot open hundreds of
// sockets), halved when the server throttles (503 SlowDown: S3 scales a prefix's request rate
// up gradually and says so this way), and grown back by one per `limit` successful requests
// (additive increase, multiplicative decrease, as TCP and the AWS SDKs' adaptive retry mode do).

import { Aimd } from './aimd';

/** Throttles within this long of a cut come from requests sent before it: one cut for them all. */
const CUT_COOL_DOWN_MS = 250;

export interface LimiterOptions {
  /** The limit never goes below this (default 2, or max if smaller). */
  min?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly aimd: Aimd;
  /** Times the limit was cut (for metrics and tests). */
  cuts = 0;

  constructor(readonly max: number, opts: LimiterOptions = {}) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`concurrency limit ${max} must be a positive integer`);
    // One more slot per `limit` successes: one per round of requests.
    this.aimd = new Aimd(max, { min: Math.min(max, opts.min ?? 2), coolDownMs: CUT_COOL_DOWN_MS, growEvery: (limit) => limit, now: opts.now });
  }

  /** The limit in force now (between min and max). */
  get limit(): number {
    return this.aimd.value;
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** The server throttled a request: halve the limit (once per cool-down). */
  throttled(): void {
    if (this.aimd.cut()) this.cuts++;
  }

  /** A request succeeded: one more slot per `limit` successes, up to max. */
  succeeded(): void {
    if (this.aimd.grow()) this.wake();
  }

  /** Resolves with a release function once a slot is free; release is idempotent. */
  async acquire(): Promise<() => void> {
    if (this.active < this.aimd.value) {
      this.active++;
    } else {
      // The releasing caller hands its slot over directly, so `active` stays counted.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // Over the limit (it was cut while this ran): the slot goes away instead of on.
      const next = this.active <= this.aimd.value ? this.waiting.shift() : undefined;
      if (next) next();
      else this.active--;
    };
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private wake(): void {
    while (this.active < this.aimd.value && this.waiting.length > 0) {
      this.active++;
      this.waiting.shift()!();
    }
  }
}
