// What this export itself wrote to or deleted from the bucket lately, so that the bucket's change
// events for our own uploads cost nothing (no listing), and so that other nodes can be told of
// them (pkg/events peers). `observeWrites` wraps the reconciler's ObjectStore: every put, copy,
// completed multipart upload and delete is recorded with its key and resulting ETag.
//
// Ceph RGW pushes its notification synchronously, while our PUT is still waiting for its answer,
// so an event can name a key whose write is in flight: classify() then answers once the write
// has finished. RGW's CompleteMultipartUpload answers an empty ETag: such a write matches any
// created event of its key within MEMORY_MS.
import type { ObjectStore } from '../s3/object-store';

export type WriteKind = 'written' | 'removed';

export interface OwnWrite {
  key: string;
  kind: WriteKind;
  /** Written: the ETag the server answered (no quotes); may be empty (RGW multipart). */
  etag?: string;
  at: number;
}

export type Classified = 'own' | 'foreign';

const MEMORY_MS = 60_000;
const MAX_REMEMBERED = 20_000;

const bare = (etag: string | undefined) => (etag ?? '').replace(/"/g, '').toLowerCase();

export class OwnWrites {
  private readonly inflight = new Map<string, { count: number; done: Promise<void>; resolve: () => void }>();
  private readonly recent = new Map<string, OwnWrite>();
  private readonly listeners = new Set<(w: OwnWrite) => void>();

  constructor(private readonly nowMs: () => number = Date.now) {}

  /** Called with every write that completed (for notices to other nodes). */
  onWrite(listener: (w: OwnWrite) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  begin(key: string): void {
    const f = this.inflight.get(key);
    if (f) {
      f.count++;
      return;
    }
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    this.inflight.set(key, { count: 1, done, resolve });
  }

  /** The write of `key` ended: `result` undefined if it failed (nothing known to have landed). */
  end(key: string, result: { kind: WriteKind; etag?: string } | undefined): void {
    if (result) {
      const w: OwnWrite = { key, kind: result.kind, etag: bare(result.etag), at: this.nowMs() };
      this.remember(w);
      for (const l of this.listeners) {
        try {
          l(w);
        } catch {
          // a listener's failure is its own business
        }
      }
    }
    const f = this.inflight.get(key);
    if (!f) return;
    if (--f.count > 0) return;
    this.inflight.delete(key);
    f.resolve();
  }

  /**
   * Whether an event (removed, or created with `etag`) is one of our own writes. A promise when
   * a write of the key is in flight: it settles once that write has.
   */
  classify(key: string, removed: boolean, etag: string | undefined): Classified | Promise<Classified> {
    const f = this.inflight.get(key);
    if (f) return f.done.then(() => this.classifyDone(key, removed, etag));
    return this.classifyDone(key, removed, etag);
  }

  private classifyDone(key: string, removed: boolean, etag: string | undefined): Classified {
    const w = this.recent.get(key);
    if (!w || this.nowMs() - w.at > MEMORY_MS) return 'foreign';
    if (removed) return w.kind === 'removed' ? 'own' : 'foreign';
    if (w.kind !== 'written') return 'foreign';
    if (w.etag === '' || etag === undefined) return 'own';
    return w.etag === bare(etag) ? 'own' : 'foreign';
  }

  private remember(w: OwnWrite): void {
    this.recent.delete(w.key); // re-insert: the map's order is the age order
    this.recent.set(w.key, w);
    if (this.recent.size <= MAX_REMEMBERED) return;
    const cutoff = this.nowMs() - MEMORY_MS;
    for (const [k, old] of this.recent) {
      if (this.recent.size > MAX_REMEMBERED || old.at < cutoff) this.recent.delete(k);
      else break;
    }
  }
}

/** `store` with every write and delete recorded in `own` (reads pass through untouched). */
export function observeWrites(store: ObjectStore, own: OwnWrites): ObjectStore {
  const track = async <T>(key: string, kind: WriteKind, run: () => Promise<T>, etagOf: (r: T) => string | undefined): Promise<T> => {
    own.begin(key);
    let result: { kind: WriteKind; etag?: string } | undefined;
    try {
      const r = await run();
      result = { kind, etag: etagOf(r) };
      return r;
    } finally {
      own.end(key, result);
    }
  };
  const wrapped: Partial<ObjectStore> = {
    put: (key, body, opts) => track(key, 'written', () => store.put(key, body, opts), (r) => r.etag),
    copy: (from, to, opts) => track(to, 'written', () => store.copy(from, to, opts), (r) => r.etag),
    completeMultipartUpload: (key, uploadId, parts, opts) => track(key, 'written', () => store.completeMultipartUpload(key, uploadId, parts, opts), (r) => r.etag),
    delete: (key) => track(key, 'removed', () => store.delete(key), () => undefined),
    deleteMany: async (keys) => {
      for (const k of keys) own.begin(k);
      const failed = new Set<string>();
      try {
        const errors = await store.deleteMany(keys);
        for (const e of errors) failed.add(e.key);
        return errors;
      } catch (err) {
        for (const k of keys) failed.add(k);
        throw err;
      } finally {
        for (const k of keys) own.end(k, failed.has(k) ? undefined : { kind: 'removed' });
      }
    },
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (Object.prototype.hasOwnProperty.call(wrapped, prop)) return wrapped[prop as keyof ObjectStore];
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
