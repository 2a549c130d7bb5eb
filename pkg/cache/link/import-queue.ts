// The bulk side of the lazy import: after a listing, what the cache still needs from the bucket
// for the entries it showed (their metadata, a HEAD each; the data of small files, a whole GET
// each that brings the metadata too) is fetched here, with many requests in flight, instead of
// one listing-wide batch the client waits for.
//
//   - A listing answers as soon as it is merged: new or changed entries carry the listing's size
//     and LastModified and are marked RemoteState.attributesPending until their metadata is read.
//   - Work is queued per inode: 'describe' (HEAD) or 'fetch' (a small file under an import rule:
//     one GET of the whole object, its data stored and its attributes applied). Background work
//     runs `concurrency` at a time (default 32) in queue order, fetches within a memory budget.
//   - A client that needs an entry now jumps the queue (a few more requests may then be in
//     flight): LOOKUP of its name, GETATTR of its handle, READDIRPLUS of a page holding it, READ
//     of a file whose import is queued. It waits at most remoteWaitMs; past that, or if the
//     bucket is unreachable, it gets EJUKEBOX ("try again later"), never made-up attributes. A
//     READ of a file whose import is in flight waits for that GET (fetcher.fetchWhole).
//   - An import that fails is only a hint: the read that needs the data fetches it itself.
//   - When the bucket is unreachable, background work pauses (1 s, doubling to 30 s) instead of
//     failing every queued entry in turn; what is still pending stays marked, and is read when a
//     client asks or when its directory is listed again.
// The queue is in memory: after a restart, marked entries are queued again by their directory's
// next listing.
import { describeError } from '../../log/logger';
import { FsError } from '../../vfs';
import type { FsCore } from '../core/core';
import { findEntry, listEntries } from '../meta/directory';
import { hasBacking } from './fetcher';
import { applyDescribed } from './import-apply';
import { ruleFor } from './import-rules';
import type { LinkView } from './link-view';
import { RemoteGoneError, RemoteUnavailableError, type RemoteEntry } from './remote';
import { withinWait } from './remote-wait';

const MiB = 1024 * 1024;
export const DEFAULT_IMPORT_CONCURRENCY = 32;
export const DEFAULT_IMPORT_MEMORY_BYTES = 32 * MiB;
/** Requests a client's own waits may add on top of the background ones. */
const URGENT_EXTRA = 8;
const PAUSE_FIRST_MS = 1000;
/** Results applied in one transaction at most, and how long the first waits for others. */
const APPLY_BATCH = 128;
const APPLY_WINDOW_MS = 2;
const PAUSE_MAX_MS = 30_000;

type Kind = 'describe' | 'fetch';

interface Task {
  ino: number;
  kind: Kind;
  running?: Promise<void>;
  /** Settles when the task has run (never rejects). */
  done: Promise<void>;
  settle: () => void;
}

function newTask(ino: number, kind: Kind): Task {
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  return { ino, kind, done, settle };
}

export class ImportQueue {
  private readonly tasks = new Map<number, Task>();
  private readonly order: number[] = [];
  /** Inodes a client waits for: started before the background ones, up to URGENT_EXTRA more. */
  private readonly urgent: number[] = [];
  private running = 0;
  private bytesInFlight = 0;
  private pausedUntil = 0;
  private pauseMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];
  private readonly applying: Array<{ ino: number; key: string; etag: string | undefined; entry: RemoteEntry | undefined; resolve: (stale: boolean) => void; reject: (err: unknown) => void }> = [];
  private applyTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Requests sent, by kind (tests and metrics). */
  reads = 0;
  wholeFetches = 0;

  constructor(
    private readonly core: FsCore,
    private readonly link: LinkView,
  ) {}

  /** Reads these inodes' attributes in the background (a whole GET where an import rule says). */
  queue(inos: number[]): void {
    if (!this.link.source.describe) return;
    for (const ino of inos) this.add(ino, 'describe');
    this.pump();
  }

  /** Imports these small files whole in the background (their attributes come with them). */
  prefetch(inos: number[]): void {
    for (const ino of inos) this.add(ino, this.link.source.readObject ? 'fetch' : 'describe');
    this.pump();
  }

  /**
   * Whether a file of `size` at `rkey` is imported when its directory is listed ('directory'),
   * when a client first needs it ('file'), or not at all (undefined).
   */
  triggerFor(rkey: string, size: number): 'directory' | 'file' | undefined {
    const rule = ruleFor(this.link.importRules, rkey);
    return rule && size > 0 && size < rule.sizeLessThan ? rule.trigger : undefined;
  }

  /** Undefined if nothing about `ino` is pending (the common case: no promise, no await). */
  wait(ino: number): Promise<void> | undefined {
    if (!this.link.remoteOf(ino)?.attributesPending) return undefined;
    return this.waitFor([ino], `reading the attributes of inode ${ino}`);
  }

  /** Before LOOKUP answers for `name` in `dir`: its attributes are read if pending. */
  async beforeLookup(dir: number, name: string): Promise<void> {
    const entry = findEntry(this.core.store, dir, name);
    const reading = entry && this.wait(entry.ino);
    if (!reading) return;
    // A directory looked up is about to be used: its listing goes out beside its marker's HEAD
    // (one round trip instead of two; a listing without a marker settles the HEAD's question).
    if (this.core.inodes.get(entry.ino)?.type === 'dir') this.link.importer.listAhead(entry.ino);
    await reading;
  }

  /** Before READDIRPLUS answers a page: the attributes of the entries on it are read if pending. */
  async beforeReaddirPlus(dir: number, cookie: bigint, maxEntries: number): Promise<void> {
    const after = Math.max(2, Number(cookie));
    const pending: number[] = [];
    for (const e of listEntries(this.core.store, dir, after, Math.max(1, maxEntries))) {
      if (this.link.remoteOf(e.ino)?.attributesPending) pending.push(e.ino);
    }
    if (pending.length > 0) await this.waitFor(pending, `reading the attributes of ${pending.length} entries of directory ${dir}`);
  }

  /** Before READ: a queued import of `ino` runs now and is waited for (a failure is only a hint). */
  beforeRead(ino: number): Promise<void> | undefined {
    if (this.tasks.size === 0) return undefined;
    const t = this.tasks.get(ino);
    if (t?.kind !== 'fetch') return undefined;
    if (!t.running) this.urgent.push(ino);
    this.pump();
    return withinWait(t.done, this.link.remoteWaitMs, `importing inode ${ino}`).catch(() => undefined);
  }

  forget(ino: number): void {
    const t = this.tasks.get(ino);
    if (t && !t.running) {
      this.tasks.delete(ino);
      t.settle();
    }
  }

  /** Resolves when nothing is queued or running (tests). */
  idle(): Promise<void> {
    if (this.tasks.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.applyTimer);
    for (const b of this.applying.splice(0)) b.resolve(false);
    for (const t of this.tasks.values()) t.settle();
    this.tasks.clear();
    this.order.length = 0;
    this.urgent.length = 0;
    this.wakeIdle();
  }

  private add(ino: number, kind: Kind): void {
    const t = this.tasks.get(ino);
    if (t) {
      if (kind === 'fetch' && !t.running) t.kind = 'fetch';
      return;
    }
    this.tasks.set(ino, newTask(ino, kind));
    this.order.push(ino);
  }

  /**
   * Runs the work for `inos` now and waits (bounded); EJUKEBOX if any is still pending after. An
   * entry marked pending again while its read ran (a newer version listed) is waited for again
   * within the same bound.
   */
  private async waitFor(inos: number[], what: string): Promise<void> {
    const deadline = Date.now() + this.link.remoteWaitMs;
    for (let todo = inos; ; ) {
      const runs = todo.map((ino) => this.urgentTask(ino).done);
      this.pump();
      await withinWait(Promise.all(runs), Math.max(0, deadline - Date.now()), what);
      const still = inos.filter((ino) => this.link.remoteOf(ino)?.attributesPending);
      if (still.length === 0) return;
      todo = still.filter((ino) => this.tasks.has(ino));
      if (todo.length < still.length) throw new FsError('EJUKEBOX', `${what}: the bucket is unavailable; try again later`);
    }
  }

  /** The task for `ino`, made if none, put ahead of the background ones unless running. */
  private urgentTask(ino: number): Task {
    let t = this.tasks.get(ino);
    if (!t) {
      const rs = this.link.remoteOf(ino);
      const kind = rs?.key !== undefined && this.link.source.readObject && this.triggerFor(rs.key, rs.size ?? 0) ? 'fetch' : 'describe';
      t = newTask(ino, kind);
      this.tasks.set(ino, t);
    }
    if (!t.running) this.urgent.push(ino);
    return t;
  }

  private start(t: Task): Promise<void> {
    if (t.running) return t.running;
    const size = t.kind === 'fetch' ? (this.core.inodes.get(t.ino)?.size ?? 0) : 0;
    // The slot counts requests on the wire: it is given back as soon as the answer is in, and
    // storing it goes on beside the next request (the memory budget bounds what waits there).
    let onWire = true;
    const answered = () => {
      if (!onWire) return;
      onWire = false;
      this.running--;
      this.pump();
    };
    this.running++;
    this.bytesInFlight += size;
    t.running = this.run(t, answered)
      .then(() => this.resume(), (err: unknown) => this.failed(t, err))
      .finally(() => {
        answered();
        this.bytesInFlight -= size;
        if (this.tasks.get(t.ino) === t) this.tasks.delete(t.ino);
        t.settle();
        this.pump();
        if (this.tasks.size === 0) this.wakeIdle();
      });
    return t.running;
  }

  private pump(): void {
    if (this.closed) return;
    const limit = this.link.importConcurrency;
    // A client's waits first, paused or not.
    while (this.running < limit + URGENT_EXTRA && this.urgent.length > 0) {
      const t = this.tasks.get(this.urgent.shift()!);
      if (t && !t.running) void this.start(t);
    }
    const now = Date.now();
    if (now < this.pausedUntil) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, this.pausedUntil - now).unref();
      return;
    }
    while (this.running < limit && this.order.length > 0) {
      const ino = this.order[0]!;
      const t = this.tasks.get(ino);
      if (!t || t.running) {
        this.order.shift();
        continue;
      }
      const size = t.kind === 'fetch' ? (this.core.inodes.get(ino)?.size ?? 0) : 0;
      if (this.bytesInFlight > 0 && this.bytesInFlight + size > this.link.importMemoryBytes) return; // in order, within the budget
      this.order.shift();
      void this.start(t);
    }
  }

  private async run(t: Task, answered: () => void): Promise<void> {
    if (t.kind === 'fetch' && (await this.fetchWhole(t.ino, answered))) return;
    const rs = this.link.remoteOf(t.ino);
    if (!rs?.attributesPending || rs.key === undefined || !this.link.source.describe) return;
    this.reads++;
    const entry = await this.link.source.describe(rs.key);
    answered();
    await this.apply(t.ino, rs.key, rs.etag, entry);
  }

  /**
   * One GET of the whole object: its bytes become the file's data (as a fetch of every block,
   * which readers wait for) and its metadata the file's attributes. False if there is nothing to
   * fetch this way (then its attributes, if pending, are read with a HEAD).
   */
  private async fetchWhole(ino: number, answered: () => void): Promise<boolean> {
    const readObject = this.link.source.readObject;
    if (!readObject) return false;
    return this.core.states.get(ino).lock.shared(async () => {
      const rs = this.link.remoteOf(ino);
      const rec = this.core.inodes.get(ino);
      if (!rs || !rec || rec.type !== 'file' || !hasBacking(rs) || rs.backLen !== rs.size) return false;
      const key = rs.key!;
      let entry: RemoteEntry | undefined;
      const fetching = this.link.fetcher.fetchWhole(ino, rs, async () => {
        this.wholeFetches++;
        const got = await readObject.call(this.link.source, key, rs.etag!);
        answered();
        if (!got) throw new RemoteGoneError(key, 'object changed or vanished');
        entry = got.entry;
        return got.data;
      });
      if (!fetching) return false;
      try {
        await fetching;
      } catch (err) {
        if (err instanceof RemoteGoneError) {
          await this.link.importer.markStale(ino);
          return true;
        }
        if (entry === undefined) throw err;
        // The bytes came but could not be stored (a full cache disk): the attributes still count.
      }
      if (rs.attributesPending) await this.apply(ino, key, rs.etag, entry);
      return true;
    });
  }

  /**
   * Applies what was read, together with what other requests brought meanwhile: one transaction
   * (one log sync) per APPLY_WINDOW_MS or APPLY_BATCH results, not one per file.
   */
  private async apply(ino: number, key: string, etag: string | undefined, entry: RemoteEntry | undefined): Promise<void> {
    if (this.closed) return;
    const stale = await new Promise<boolean>((resolve, reject) => {
      this.applying.push({ ino, key, etag, entry, resolve, reject });
      if (this.applying.length >= APPLY_BATCH) this.flushApplies();
      else this.applyTimer ??= setTimeout(() => this.flushApplies(), APPLY_WINDOW_MS);
    });
    if (stale) await this.link.importer.markStale(ino);
  }

  private flushApplies(): void {
    clearTimeout(this.applyTimer);
    this.applyTimer = undefined;
    const batch = this.applying.splice(0);
    if (batch.length === 0) return;
    this.core
      .mutate((m) => batch.map((b) => applyDescribed(m, this.link, b.ino, b.key, b.etag, b.entry)), { quiet: true })
      .then(
        (stale) => batch.forEach((b, i) => b.resolve(stale[i]!)),
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      );
  }

  private resume(): void {
    this.pauseMs = 0;
    this.pausedUntil = 0;
  }

  private failed(t: Task, err: unknown): void {
    if (this.closed) return; // the file system is closing: what is pending stays marked
    if (err instanceof RemoteUnavailableError || (err instanceof FsError && err.code === 'EIO' && err.cause instanceof RemoteUnavailableError)) {
      this.pauseMs = Math.min(PAUSE_MAX_MS, Math.max(PAUSE_FIRST_MS, this.pauseMs * 2));
      this.pausedUntil = Date.now() + this.pauseMs;
      this.core.log.warn('the bucket is unavailable; importing paused', { ino: t.ino, pauseMs: this.pauseMs, err: describeError(err) });
      return;
    }
    // Not the bucket's availability: the attributes stay the listing's rather than block clients.
    this.core.log.warn("reading from the bucket failed; the listing's attributes stay", { ino: t.ino, err: describeError(err) });
    void this.core
      .mutate((m) => {
        const rs = m.store.remote.get(t.ino);
        if (rs?.attributesPending) m.store.remote.putSync(t.ino, { ...rs, attributesPending: undefined });
      }, { quiet: true })
      .catch(() => undefined);
  }

  private wakeIdle(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
