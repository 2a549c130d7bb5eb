// Appending to the metadata redo log, with group commit.
//
// append() writes the record into the page cache at once (a synchronous pwrite of a few hundred
// bytes, ~5 µs) and returns a promise that resolves when an fdatasync that began after that
// write has finished. By default the fdatasync runs at once on the calling thread (see `inline`);
// with the thread pool, one runs at a time and every record written while it runs waits for the
// next one, so N concurrent operations share one sync.
//
// Failures are not fatal here: a record that could not be written or synced (EIO, a full log)
// is reported to the caller, which then makes that transaction durable through a checkpoint
// instead (engine.ts). After a failed write or sync the segment is abandoned: later records
// go to a fresh segment, never after a region whose contents are unknown.
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { encodeRecord, encodeSegmentHeader, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES } from './format';
import { type Segment, type SegmentPool } from './segments';
import type { Logger } from '../../../log/logger';

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

export class WalLog {
  private current?: Segment;
  private broken = false;
  /** Segments written since the last sync began. */
  private dirty = new Set<Segment>();
  /** Records written since the last sync began. */
  private waiters: Waiter[] = [];
  private syncing?: Promise<void>;
  /** Set when a rotation found no free segment: a checkpoint would free some. */
  starved = false;
  /**
   * Sync on the main thread (the default; env S3FILES_WAL_INLINE=0 for the thread pool): one
   * fdatasync of ~110-150 µs blocks the event loop, against two thread-pool hand-offs (~0.1-0.3
   * ms on this 2-vCPU VM) around it. Records still share a sync: engine.ts gathers the
   * transactions of a whole event-loop turn into one record, and requests that arrive during the
   * blocked sync are read together in the next turn.
   */
  private readonly inline = process.env.S3FILES_WAL_INLINE !== '0';

  constructor(
    private readonly pool: SegmentPool,
    private nextSegNo: number,
    private readonly log: Logger,
  ) {}

  /**
   * Writes one record and returns a promise for its durability, or undefined if it cannot be
   * logged now (no segment with room, the disk refused the write). `durableSeq` is the seq up to
   * which a checkpoint made the database durable: segments holding nothing newer are reusable.
   */
  append(seq: number, prev: number, payload: Buffer, durableSeq: number): Promise<void> | undefined {
    const need = RECORD_HEADER_BYTES + payload.length;
    let seg = this.current;
    if (!seg || this.broken || seg.writeAt + need > seg.size) {
      seg = this.rotate(need, durableSeq);
      if (!seg) return undefined;
    }
    const rec = encodeRecord(seg.header!.nonce, seq, prev, payload);
    try {
      const n = fs.writeSync(seg.fd, rec, 0, rec.length, seg.writeAt);
      if (n !== rec.length) throw new Error(`short write to the metadata log (${n} of ${rec.length} bytes)`);
    } catch (err) {
      this.abandon(err);
      return undefined;
    }
    seg.writeAt += rec.length;
    seg.maxSeq = seq;
    this.dirty.add(seg);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.kick();
    return done;
  }

  /** Resolves when every record appended so far has been synced (or failed). */
  async drain(): Promise<void> {
    while (this.syncing) await this.syncing;
  }

  /** Whether `seg` is the segment records currently go to. */
  isCurrent(seg: Segment): boolean {
    return seg === this.current;
  }

  private rotate(need: number, durableSeq: number): Segment | undefined {
    if (SEGMENT_HEADER_BYTES + need > this.pool.segmentBytes) return undefined;
    const seg = this.pool.free(durableSeq, this.current);
    if (!seg || SEGMENT_HEADER_BYTES + need > seg.size) {
      this.starved = true;
      this.pool.addInBackground((err) => this.log.warn('could not add a metadata log segment', { err: String(err) }));
      return undefined;
    }
    const header = { segNo: this.nextSegNo++, nonce: randomBytes(8) };
    try {
      fs.writeSync(seg.fd, encodeSegmentHeader(header), 0, SEGMENT_HEADER_BYTES, 0);
    } catch (err) {
      this.abandon(err);
      return undefined;
    }
    seg.header = header;
    seg.writeAt = SEGMENT_HEADER_BYTES;
    // pool.free() never hands out the current segment, whatever its maxSeq.
    seg.maxSeq = 0;
    this.current = seg;
    this.broken = false;
    this.dirty.add(seg);
    // Keep one spare ready, so that the next rotation does not wait for a checkpoint.
    if (this.pool.countFree(durableSeq, seg) === 0) {
      this.pool.addInBackground((err) => this.log.warn('could not add a metadata log segment', { err: String(err) }));
    }
    return seg;
  }

  private abandon(err: unknown): void {
    if (!this.broken) this.log.error('metadata log write failed; falling back to database syncs', { err: String(err) });
    this.broken = true;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w.reject(err);
  }

  private kick(): void {
    if (this.syncing || this.waiters.length === 0) return;
    if (this.inline) {
      // fdatasync on the main thread: ~130 µs of blocking instead of a thread-pool hand-off.
      const batch = this.waiters;
      const segs = Array.from(this.dirty);
      this.waiters = [];
      this.dirty.clear();
      try {
        for (const s of segs) fs.fdatasyncSync(s.fd);
      } catch (err) {
        for (const w of batch) w.reject(err);
        this.abandon(err);
        return;
      }
      for (const w of batch) w.resolve();
      return;
    }
    const batch = this.waiters;
    const segs = Array.from(this.dirty);
    this.waiters = [];
    this.dirty.clear();
    this.syncing = Promise.all(segs.map((s) => fdatasync(s.fd))).then(
      () => {
        for (const w of batch) w.resolve();
      },
      (err: unknown) => {
        for (const w of batch) w.reject(err);
        // Linux reports a failed write-back once and may drop the pages: nothing written to
        // this segment since can be trusted either.
        this.abandon(err);
      },
    );
    void this.syncing.finally(() => {
      this.syncing = undefined;
      this.kick();
    });
  }
}

function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}
