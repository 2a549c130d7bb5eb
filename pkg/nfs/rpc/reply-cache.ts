// The duplicate request cache. A client that loses a connection (or times out) sends its
// outstanding calls again with the same xid. For a non-idempotent call that already ran —
// REMOVE, RENAME, CREATE, ... — running it again gives a wrong answer (NOENT for a remove that
// succeeded), so the first reply is kept for a while and sent again. A retransmission that
// arrives while the original still runs waits for it instead of running twice.
//
// Entries are keyed by client address (not port: clients reconnect from another port), xid,
// program, version, procedure and a digest of the arguments (xids repeat across clients'
// connections; the digest keeps an unrelated call with a recycled xid from matching). Bounded
// by count and age, oldest first.
import { createHash } from 'node:crypto';

export interface ReplyCacheOptions {
  maxEntries?: number;
  ttlMs?: number;
  now?: () => number;
}

export interface CacheableReply {
  message: Buffer[];
  cacheable: boolean;
  /** To call once the message has been sent (buffers it references may be reused then). */
  afterSend?: () => void;
}

interface Entry {
  createdAt: number;
  /** Settles with the reply once the first execution finished. */
  reply: Promise<Buffer[] | undefined>;
}

/** How many bytes of the arguments the digest covers (knfsd does the same: a prefix). */
const DIGEST_PREFIX = 512;

export class ReplyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: ReplyCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 8192;
    this.ttlMs = options.ttlMs ?? 120_000;
    this.now = options.now ?? Date.now;
  }

  static key(address: string, xid: number, prog: number, vers: number, proc: number, args: Buffer): string {
    const digest = createHash('sha1').update(args.subarray(0, DIGEST_PREFIX)).digest('base64');
    return `${address}|${xid}|${prog}|${vers}|${proc}|${args.length}|${digest}`;
  }

  /**
   * Runs `execute` unless a call with this key ran recently (returns its reply) or is running
   * (waits for it). A reply marked not cacheable (a SYSTEM_ERR, say) is not kept, so a
   * retransmission runs the call again.
   */
  async run(key: string, execute: () => Promise<CacheableReply>): Promise<{ message: Buffer[]; replayed: boolean }> {
    const now = this.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.createdAt <= this.ttlMs) {
      const message = await hit.reply;
      if (message) return { message, replayed: true };
    }
    const running = execute();
    const entry: Entry = { createdAt: now, reply: running.then((r) => (r.cacheable ? r.message : undefined), () => undefined) };
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.evict(now);
    try {
      const result = await running;
      if (!result.cacheable && this.entries.get(key) === entry) this.entries.delete(key);
      return { message: result.message, replayed: false };
    } catch (err) {
      if (this.entries.get(key) === entry) this.entries.delete(key);
      throw err;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(now: number): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && now - entry.createdAt <= this.ttlMs) break;
      this.entries.delete(key);
    }
  }
}
