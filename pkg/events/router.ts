// Where parsed bucket events go: every export's ChangeFeed whose bucket and prefix cover the key
// (one endpoint or queue can serve several exports of one bucket). Bad input is logged at most
// once per LOG_EVERY_MS (with a count of what was suppressed) and otherwise ignored.
import type { Logger } from '../log/logger';
import { RateLimitedLog } from '../log/rate-limited';
import type { ChangeFeed } from './change-feed';
import { FormatError, parseEventBody, type ParsedEvents } from './records';

const LOG_EVERY_MS = 10_000;

export interface DeliveryResult {
  changes: number;
  /** What was delivered (not serialised in HTTP answers). */
  parsed: ParsedEvents;
  /** Changes no export covers (another bucket or prefix). */
  unrouted: number;
  ignored: number;
  gap: boolean;
}

export class EventRouter {
  private readonly feeds = new Map<string, ChangeFeed>();
  private readonly limited: RateLimitedLog;
  malformed = 0;

  constructor(log: Logger) {
    this.limited = new RateLimitedLog(log, LOG_EVERY_MS);
  }

  add(feed: ChangeFeed): void {
    this.feeds.set(feed.target.name, feed);
  }

  /** Stops delivering to the feed; resolves once it finished what it was applying. */
  async remove(name: string): Promise<void> {
    const f = this.feeds.get(name);
    this.feeds.delete(name);
    await f?.close();
  }

  get(name: string): ChangeFeed | undefined {
    return this.feeds.get(name);
  }

  names(): string[] {
    return Array.from(this.feeds.keys());
  }

  /**
   * Parses one body and delivers it to `only` (an export name) or to every feed that covers a
   * key. Returns undefined for a malformed body (logged, rate-limited).
   */
  deliverBody(body: string | Buffer, from: string, only?: string): DeliveryResult | undefined {
    let parsed: ParsedEvents;
    try {
      parsed = parseEventBody(body);
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      this.malformed++;
      this.warn('a malformed or foreign event was ignored', { from, reason: err.message, bytes: body.length });
      return undefined;
    }
    return this.deliver(parsed, only);
  }

  deliver(parsed: ParsedEvents, only?: string): DeliveryResult {
    const feeds = only === undefined ? Array.from(this.feeds.values()) : [this.feeds.get(only)].filter((f): f is ChangeFeed => f !== undefined);
    if (parsed.gap) for (const f of feeds) f.gap('the source announced a gap (s3:TestEvent)');
    let unrouted = 0;
    for (const c of parsed.changes) if (!feeds.some((f) => f.covers(c))) unrouted++;
    for (const f of feeds) f.accept(parsed.changes);
    return { changes: parsed.changes.length, parsed, unrouted, ignored: parsed.ignored, gap: parsed.gap };
  }

  async closeAll(): Promise<void> {
    const feeds = Array.from(this.feeds.values());
    this.feeds.clear();
    await Promise.all(feeds.map((f) => f.close()));
  }

  /** Each warning at most every LOG_EVERY_MS; the ones in between are counted in the next. */
  warn(message: string, detail: Record<string, unknown>): void {
    this.limited.write('warn', message, message, detail);
  }
}
