// Durable metadata transactions: LMDB without fsync + a redo log + checkpoints.
//
// transact(fn) queues fn; all calls made in the same turn of the event loop run as one LMDB
// write transaction on the main thread (each fn in a child transaction, so one that throws is
// rolled back alone), committed with noSync: the pages are in the page cache and visible at
// once (~30 µs). Every putSync/removeSync fn makes is recorded (key and value, msgpack) as it
// happens; the batch's operations become one log record {seq, prev, ops}, and the batch's seq
// is written to counters.walSeq in the same transaction. The record is appended to the log
// only after the commit succeeded (a failed commit never reaches the log) and the promises
// resolve once the log's fdatasync covers it (log.ts: group commit, ~130 µs). Promises
// resolve in commit order, each only when everything committed before it is durable too.
//
// Checkpoints (checkpoint.ts) make LMDB's file durable in the background, frequently: they
// bound the log to be replayed and the pages a pinned snapshot keeps from reuse. They are
// also the fallback: a transaction whose record cannot be logged (log full, EIO) is
// acknowledged when a checkpoint covering it is on disk. If a checkpoint cannot be made, the
// store refuses every later transaction (EIO): nothing it acknowledges may be lost.
//
// Start-up (startSync): after a reboot the database is first returned to the last checkpoint
// (MetadataStore.open); then records that continue the chain from walSeq are replayed in one
// transaction (recovery.ts), a checkpoint is taken and the old segments are invalidated.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Database, Key, RootDatabase, Transaction } from 'lmdb';
import { CheckpointFile, readMetaPages } from './checkpoint';
import { WalLog } from './log';
import { commitFailure, freeBytes, OpRecorder } from './ops';
import { planReplay } from './recovery';
import { SegmentPool } from './segments';
import type { Logger } from '../../../log/logger';
import { FsError } from '../../../vfs';

export interface WalOptions {
  /** The kernel's boot id (checkpoint.ts currentBootId); a constructor argument for tests. */
  bootId: string;
  /** Size of a log segment file (default 1 MiB). */
  segmentBytes?: number;
  /** Least time between two background checkpoints while writes go on (default 20 ms). */
  checkpointIntervalMs?: number;
  log: Logger;
}

interface Queued {
  fn: () => unknown;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

interface Batch {
  seq: number;
  durable: boolean;
  /** Its record could not be logged: it waits for a checkpoint. */
  viaCheckpoint?: boolean;
  done: Array<[Queued, unknown]>;
}

type AnyDb = Database<unknown, Key>;

/**
 * One hold on a read snapshot. lmdb-js hands out one shared, reference-counted transaction, so
 * two holds may be the same Transaction object; each must let go exactly once.
 */
class Pin {
  private released = false;

  constructor(private readonly txn: Transaction) {}

  release(): void {
    if (this.released) return;
    this.released = true;
    this.txn.done();
  }
}

/** Free space past which unpinIfShortOfSpace looks again only after SPACE_CHECK_MS. */
const ROOMY_BYTES = 1 << 30;
const SPACE_CHECK_MS = 50;


export class WalEngine {
  private readonly ops = new OpRecorder();
  private queue: Queued[] = [];
  private scheduled = false;
  private readonly acks: Batch[] = [];
  private lastSeq = 0;
  private committedSeq = 0;
  private durableSeq = 0;
  private counter = 0;
  private pin?: Pin;
  /** The snapshot of the last background checkpoint started (runCheckpoint). */
  private backgroundPin?: Pin;
  private checkpointing?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private lastCheckpointAt = 0;
  private urgent = false;
  private timerUrgent = false;
  /** Counter of the checkpoint whose snapshot `pin` holds (the one recovery would use). */
  private inForce = 0;
  private sizeAtCheckpoint = 0;
  /** LMDB file growth allowed between checkpoints: 1/1024 of its file system, 64 KiB to 8 MiB. */
  private readonly growthBudget: number;
  private failure?: unknown;
  /**
   * close() has drained the queue: later transactions are refused (EIO) and no checkpoint is
   * scheduled, since the database may be closed by the time a timer would fire.
   */
  private closing = false;
  /** performance.now() until which the disk is taken to have room (unpinIfShortOfSpace). */
  private roomyUntil = 0;
  private log!: WalLog;
  private readonly psize: number;
  private readonly dataFd: number;
  private readonly ckpt: CheckpointFile;
  private readonly pool: SegmentPool;

  private readonly putCounter: (name: string, value: number) => void;

  private constructor(
    private readonly env: RootDatabase,
    dbs: AnyDb[],
    counters: AnyDb,
    private readonly metaDir: string,
    private readonly options: WalOptions,
  ) {
    // walSeq is the log's own bookkeeping, written outside the recording (its value is implied
    // by each record's seq): keep the unrecorded putSync before the databases are taken over.
    const put = counters.putSync.bind(counters);
    this.putCounter = (name, value) => void put(name, value);
    dbs.forEach((db, i) => this.ops.instrument(db, i));
    this.psize = (env.getStats() as { pageSize: number }).pageSize;
    this.dataFd = fs.openSync(path.join(metaDir, 'data.mdb'), 'r+');
    fs.mkdirSync(path.join(metaDir, 'wal'), { recursive: true });
    const st = fs.statfsSync(metaDir);
    this.growthBudget = Math.min(8 << 20, Math.max(64 << 10, Math.floor((st.blocks * st.bsize) / 1024)));
    this.ckpt = CheckpointFile.openSync(path.join(metaDir, 'wal', 'checkpoint'), this.psize);
    this.pool = SegmentPool.openSync(path.join(metaDir, 'wal'), options.segmentBytes ?? 1024 * 1024);
  }

  /**
   * Takes over the databases `dbs` (their putSync/removeSync are recorded from now on and refuse
   * to run outside transact()), replays the log and checkpoints. Synchronous: start-up only.
   */
  static startSync(env: RootDatabase, dbs: AnyDb[], counters: AnyDb, metaDir: string, options: WalOptions): WalEngine {
    const e = new WalEngine(env, dbs, counters, metaDir, options);
    // Pinned before any write: the checkpoint in force (from before a crash) stays intact
    // until the one below replaces it.
    e.pin = new Pin(env.useReadTransaction());
    const walSeq = (counters.get('walSeq') as number | undefined) ?? 0;
    const plan = planReplay(e.pool, walSeq);
    if (plan.gap) options.log.warn('metadata log: records after a gap ignored (never acknowledged)', plan.gap);
    e.committedSeq = walSeq;
    if (plan.records.length > 0) {
      const last = plan.records[plan.records.length - 1]!.seq;
      env.transactionSync(() => {
        for (const r of plan.records) e.ops.apply(r.payload);
        e.putCounter('walSeq', last);
      });
      e.committedSeq = last;
      options.log.info('metadata log replayed', { from: walSeq, to: last, records: plan.records.length });
    }
    e.lastSeq = Math.max(plan.maxSeenSeq, e.committedSeq);
    e.counter = e.ckpt.latest?.counter ?? 0;
    e.checkpointSync();
    for (const seg of e.pool.segments) if (seg.header) e.pool.invalidateSync(seg);
    while (e.pool.segments.length < 2 && e.pool.addSync());
    e.log = new WalLog(e.pool, plan.maxSegNo + 1, options.log);
    return e;
  }

  transact<T>(fn: () => T): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failed());
    if (this.closing) return Promise.reject(new FsError('EIO', 'metadata database is closing'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // At the end of this event-loop turn, not at the next microtask: callers resumed by the
        // previous batch reach transact() several promise hops apart, and a microtask batch would
        // hold only the first of them (then one sync each).
        setImmediate(() => this.runBatch());
      }
    });
  }

  /** Takes a checkpoint now (tests, benchmarks); resolves when it is on disk. */
  async checkpoint(): Promise<void> {
    while (this.checkpointing) await this.checkpointing;
    await this.runCheckpoint(true);
  }

  /** Waits for everything queued, takes a final checkpoint and lets go of the files. */
  async close(): Promise<void> {
    while (this.queue.length > 0 || this.acks.length > 0) {
      await new Promise((r) => setImmediate(r));
      if (this.failure !== undefined) break;
    }
    this.closing = true;
    clearTimeout(this.timer);
    await this.log.drain();
    if (this.failure === undefined) await this.checkpoint().catch(() => undefined);
    this.pin?.release();
    this.pin = undefined;
    await this.pool.close();
    this.ckpt.close();
    fs.closeSync(this.dataFd);
  }

  private runBatch(): void {
    this.scheduled = false;
    const queued = this.queue;
    this.queue = [];
    const done: Array<[Queued, unknown]> = [];
    const ops: Buffer[] = [];
    let seq = 0;
    const unpinned = this.unpinIfShortOfSpace();
    // A batch of one needs no child transaction: if its fn throws, the whole transaction is
    // rolled back instead (a child costs a begin and a merge of its dirty pages, every time a
    // client does one thing at a time, as `rm -rf` does).
    const alone = queued.length === 1 ? queued[0] : undefined;
    let aloneThrew = false;
    try {
      this.env.transactionSync(() => {
        for (const q of queued) {
          const mine: Buffer[] = [];
          this.ops.recording = mine;
          try {
            // A child transaction: if fn throws, its writes are rolled back and its records dropped.
            const r = alone ? q.fn() : this.env.transactionSync(q.fn);
            for (const b of mine) ops.push(b);
            done.push([q, r]);
          } catch (err) {
            if (alone) {
              aloneThrew = true;
              throw err;
            }
            q.reject(err);
          } finally {
            this.ops.recording = undefined;
          }
        }
        if (ops.length > 0) {
          seq = this.lastSeq + 1;
          this.putCounter('walSeq', seq);
        }
      });
    } catch (err) {
      if (unpinned) this.repin();
      if (aloneThrew) {
        alone!.reject(err);
        return;
      }
      // The commit failed (a full disk, ...): nothing of the batch happened, nothing is logged.
      for (const [q] of done) q.reject(commitFailure(err, this.metaDir));
      return;
    }
    if (unpinned) this.repin();
    if (ops.length === 0) {
      this.enqueueAck({ seq: this.committedSeq, durable: true, done });
      return;
    }
    const prev = this.committedSeq;
    this.lastSeq = seq;
    this.committedSeq = seq;
    const batch: Batch = { seq, durable: false, done };
    this.enqueueAck(batch);
    const synced = this.log.append(seq, prev, Buffer.concat(ops), this.durableSeq);
    if (!synced) {
      batch.viaCheckpoint = true;
      this.requestCheckpoint(true);
      return;
    }
    synced.then(
      () => {
        batch.durable = true;
        this.flushAcks();
      },
      () => {
        batch.viaCheckpoint = true;
        this.requestCheckpoint(true);
      },
    );
    if (this.growth() > this.growthBudget) {
      try {
        this.checkpointSync();
      } catch (err) {
        this.fail(err);
      }
    } else {
      this.requestCheckpoint(this.log.starved);
    }
  }

  /**
   * Pages freed since the pinned snapshot cannot be reused (nor those the newest transaction
   * freed, while the pin is on it), so on a nearly full disk a batch that only frees space (a
   * remove) could fail for want of new pages where a synced commit reuses them. Short of space,
   * the batch therefore runs unpinned between two blocking checkpoints: the first makes
   * everything so far durable, the batch can only write into pages free as of that checkpoint
   * (never into its snapshot), and repin() checkpoints again before any other transaction could
   * reuse the checkpoint's pages. Returns whether it unpinned.
   */
  private unpinIfShortOfSpace(): boolean {
    if (this.failure !== undefined) return false;
    // statfs costs ~8 µs a batch. With plenty of room (at least ROOMY_BYTES) it is enough to
    // look again SPACE_CHECK_MS later: no writer fills that much in that time.
    const now = performance.now();
    if (this.roomyUntil > now) return false;
    const free = freeBytes(this.metaDir);
    if (free >= ROOMY_BYTES) this.roomyUntil = now + SPACE_CHECK_MS;
    if (free >= 2 * this.growthBudget) return false;
    try {
      this.checkpointSync();
    } catch (err) {
      // As for every failed checkpoint: its counter is spent (the next one would overwrite the
      // slot in force) and a failed fdatasync may have dropped pages (Linux reports it once).
      this.fail(err);
      return false;
    }
    this.pin?.release();
    this.pin = undefined;
    // A background checkpoint still syncing holds its own, older snapshot; the one just taken
    // supersedes it, so its pin may go now (its completion then finds it released).
    this.backgroundPin?.release();
    return true;
  }

  /** After an unpinned batch: a checkpoint (and its pin) before anything else commits. */
  private repin(): void {
    try {
      this.checkpointSync();
    } catch (err) {
      this.fail(err);
    }
  }

  private enqueueAck(b: Batch): void {
    this.acks.push(b);
    this.flushAcks();
  }

  /** Resolves batches in commit order, each once it and all before it are durable. */
  private flushAcks(): void {
    while (this.acks.length > 0 && (this.acks[0]!.durable || this.acks[0]!.seq <= this.durableSeq)) {
      for (const [q, r] of this.acks.shift()!.done) q.resolve(r);
    }
  }

  /**
   * Schedules a background checkpoint: at once if `urgent` (a batch waits for one, or LMDB's
   * file grew past its budget), else once the interval since the last one has passed.
   */
  private requestCheckpoint(urgent: boolean): void {
    if (this.failure !== undefined || this.closing) return;
    if (urgent) this.urgent = true;
    if (this.checkpointing) return; // its end looks again
    // A pending timer is only ever brought forward, never pushed back (requests can come faster
    // than a timer fires).
    if (this.timer && (this.timerUrgent || !this.urgent)) return;
    clearTimeout(this.timer);
    this.timerUrgent = this.urgent;
    const wait = this.urgent ? 0 : Math.max(0, (this.options.checkpointIntervalMs ?? 20) - (Date.now() - this.lastCheckpointAt));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.urgent = false;
      if (!this.closing) void this.runCheckpoint(false);
    }, wait);
    // An urgent one may have callers waiting for it (a batch that could not be logged): it must
    // keep the process alive until it ran, or a script awaiting that batch just exits. A routine
    // one must not hold the process open.
    if (!this.urgent) this.timer.unref();
  }

  /**
   * While a checkpoint's snapshot is pinned, pages freed since cannot be reused and LMDB's file
   * grows by the pages the transactions copy (~50 KiB per small transaction). Past the budget, a
   * checkpoint is due now rather than at the interval.
   */
  private growth(): number {
    return fs.fstatSync(this.dataFd).size - this.sizeAtCheckpoint;
  }

  /**
   * Pins the current snapshot, copies the meta pages and the seq they stand for (all in one
   * synchronous step, between two transactions: no commit can interleave), syncs data.mdb, then
   * writes the checkpoint. See checkpoint.ts.
   */
  private runCheckpoint(force: boolean): Promise<void> {
    if (this.checkpointing) return this.checkpointing;
    const seq = this.committedSeq;
    if (this.failure !== undefined || (!force && seq === this.durableSeq)) return Promise.resolve();
    const pin = new Pin(this.env.useReadTransaction());
    this.backgroundPin = pin;
    let metas: Buffer;
    try {
      metas = readMetaPages(this.dataFd, this.psize);
      this.sizeAtCheckpoint = fs.fstatSync(this.dataFd).size;
    } catch (err) {
      pin.release();
      this.fail(err);
      return Promise.resolve();
    }
    const cp = { counter: ++this.counter, seq, bootId: this.options.bootId, psize: this.psize, metas };
    this.checkpointing = fdatasync(this.dataFd)
      // Overtaken by a blocking checkpoint meanwhile: its slot must stay as it is. Two blocking
      // ones (unpinIfShortOfSpace takes two) would otherwise leave the newest's slot, which has
      // this one's parity, overwritten by this older one, and the one before in force with its
      // snapshot no longer pinned.
      .then(() => (cp.counter < this.inForce ? undefined : this.ckpt.write(cp)))
      .then(
        () => this.checkpointDone(pin, seq, cp.counter),
        (err: unknown) => {
          pin.release();
          this.fail(err);
        },
      )
      .finally(() => {
        this.checkpointing = undefined;
        this.lastCheckpointAt = Date.now();
        // Writes went on meanwhile, or a record is waiting for a checkpoint to be acknowledged.
        if (this.urgent || this.acks.some((b) => b.viaCheckpoint)) {
          this.urgent = false;
          void this.runCheckpoint(false);
        } else if (this.committedSeq !== this.durableSeq) {
          this.requestCheckpoint(false);
        }
      });
    return this.checkpointing;
  }

  /**
   * The same, blocking: at start-up, and when LMDB's file outgrew its budget (a small disk, or
   * writes faster than background checkpoints): the growth must stop now, not after more
   * transactions. On the main thread between transactions, so nothing interleaves.
   */
  private checkpointSync(): void {
    const pin = new Pin(this.env.useReadTransaction());
    const seq = this.committedSeq;
    const counter = ++this.counter;
    try {
      const metas = readMetaPages(this.dataFd, this.psize);
      this.sizeAtCheckpoint = fs.fstatSync(this.dataFd).size;
      fs.fdatasyncSync(this.dataFd);
      // A background checkpoint may have written its slot and not synced it yet: that slot must
      // be durable before this one overwrites the other (the one in force on disk), or a torn
      // write here could leave no valid checkpoint, or an older, unpinned one.
      if (this.checkpointing) this.ckpt.syncSync();
      this.ckpt.writeSync({ counter, seq, bootId: this.options.bootId, psize: this.psize, metas });
      this.lastCheckpointAt = Date.now();
    } catch (err) {
      pin.release();
      throw err;
    }
    this.checkpointDone(pin, seq, counter);
  }

  /**
   * A checkpoint is on disk: its pin replaces the one of the checkpoint it supersedes. One that
   * finished after a newer one (a background checkpoint overtaken by a blocking one) is not the
   * one recovery would use (the higher counter wins), so it only lets go of its own pin.
   */
  private checkpointDone(pin: Pin, seq: number, counter: number): void {
    if (counter < this.inForce) {
      pin.release();
      return;
    }
    this.inForce = counter;
    this.pin?.release();
    this.pin = pin;
    this.durableSeq = Math.max(this.durableSeq, seq);
    if (this.log) this.log.starved = false;
    this.flushAcks();
  }

  private fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.options.log.error('metadata database cannot be made durable; refusing further changes', { err: String(err) });
    const waiting = this.acks.splice(0);
    for (const b of waiting) for (const [q] of b.done) q.reject(this.failed());
    for (const q of this.queue.splice(0)) q.reject(this.failed());
  }

  private failed(): FsError {
    return new FsError('EIO', 'metadata database cannot be made durable', { cause: this.failure });
  }
}

function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}
