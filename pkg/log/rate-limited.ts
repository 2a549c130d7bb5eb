// Log lines that a remote peer can trigger at will (mount requests, connections reaped for
// misbehaving) go through this, so that a flood writes a few lines a minute instead of
// megabytes: the first line for a key in each interval is logged, the rest are counted, and
// the next line logged for that key says how many were left out.
import type { Logger } from './logger';

type Level = 'error' | 'warn' | 'info' | 'debug';

/** Keys tracked at once; past this the oldest are forgotten (their suppressed counts with them). */
const MAX_KEYS = 1024;

export class RateLimitedLog {
  private readonly windows = new Map<string, { until: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs `message` unless a line with this key was logged less than an interval ago. */
  write(level: Level, key: string, message: string, fields: Record<string, unknown> = {}): boolean {
    const t = this.now();
    const w = this.windows.get(key);
    if (w && t < w.until) {
      w.suppressed++;
      return false;
    }
    const suppressed = w?.suppressed ?? 0;
    this.windows.delete(key); // re-inserted last: the map stays in order of last logging
    this.windows.set(key, { until: t + this.intervalMs, suppressed: 0 });
    if (this.windows.size > MAX_KEYS) this.windows.delete(this.windows.keys().next().value as string);
    this.log.log(level, message, suppressed > 0 ? { ...fields, suppressedSinceLast: suppressed } : fields);
    return true;
  }
}
