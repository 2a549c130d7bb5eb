// Large sequential reads of uncached, unmodified data straight from the bucket (DESIGN.md
// decisions 4, 7 and 9): once a reader of a large remote-backed file is sequential and what
// follows is not cached, a window of ranged GETs (pinned to the ETag) runs ahead of it, several
// in flight, and serves its reads without writing the data to the cache disk. One GET stream
// is capped by one connection's bandwidth (~50-100 MB/s on real S3, less on a loaded link);
// parts in parallel are how Mountpoint for S3 and the SDK's transfer managers go past it.
//
// The part size and the window grow as the reader keeps going (a short read costs little, a
// long one gets up to MAX_PARTS_IN_FLIGHT parts of MAX_PART_BYTES in flight). Memory is bounded
// per reader (the window) and per file system (BUDGET_BYTES for all readers' parts, in flight
// or buffered). Reads that arrive a little out of order (the kernel client keeps several READs
// in flight) are served from the parts kept behind the latest read. A read the window cannot
// serve (behind it, far ahead, over a present block, after the object changed) takes the block
// path (fetcher.ts); so does every read after a part failed: the block path retries, and
// reports the error if the bucket really cannot give the bytes.
import type { FsCore } from '../core/core';
import { hasBacking } from './fetcher';
import type { LinkView } from './link-view';

const MiB = 1024 * 1024;
/** Bytes left to read for a window of ranged GETs to be worth opening. */
const STREAM_MIN_BYTES = 32 * MiB;
const INITIAL_PART_BYTES = 2 * MiB;
const MAX_PART_BYTES = 8 * MiB;
/** Bytes requested ahead of the latest read: starts at INITIAL_WINDOW, doubles per part consumed. */
const INITIAL_WINDOW_BYTES = 16 * MiB;
const MAX_WINDOW_BYTES = 96 * MiB;
const MAX_PARTS_IN_FLIGHT = 16;
/** Bytes of parts (in flight or buffered) of all readers of one file system. */
const BUDGET_BYTES = 256 * MiB;
/** Bytes kept behind the latest read, for reads that arrive late. */
const KEEP_BEHIND = 8 * MiB;
const IDLE_MS = 5000;
const MAX_STREAMS = 8;
/** The reader's sequential window (in blocks) from which a stream opens: two reads in a row. */
const STREAM_AFTER_BLOCKS = 4;

interface Part {
  start: number;
  end: number;
  /** Settles when the bytes are here; never rejects (a failure sets `failed`). */
  ready: Promise<void>;
  data?: Buffer;
  failed?: unknown;
  settled: boolean;
  /** Dropped from its stream: its bytes leave the budget once it settles. */
  dropped: boolean;
}

interface ActiveStream {
  key: string;
  etag: string;
  /** Parts in file order, contiguous, from the oldest kept to `next`. */
  parts: Part[];
  /** Where the next part starts. */
  next: number;
  /** The object's bytes end here (RemoteState.backLen when opened). */
  end: number;
  partBytes: number;
  windowBytes: number;
  /** End of the furthest read served. */
  readEnd: number;
  idle: NodeJS.Timeout;
}

export class Streamer {
  private readonly streams = new Map<number, ActiveStream>();
  /** Bytes of parts in flight or buffered, all streams (BUDGET_BYTES). */
  private budgetUsed = 0;
  private partsInFlight = 0;
  /** Bytes served from streams (for metrics and tests). */
  streamedBytes = 0;
  streamsOpened = 0;
  /** Ranged GETs sent by streams, and the most in flight at once (for tests and benchmarks). */
  partRequests = 0;
  peakPartsInFlight = 0;

  constructor(
    private readonly core: FsCore,
    private readonly link: LinkView,
  ) {}

  active(ino: number): boolean {
    return this.streams.has(ino);
  }

  /** True if `ino` has a stream or its reader qualifies for one at `offset`. */
  wants(ino: number, offset: number, n: number): boolean {
    return this.streams.has(ino) || this.qualifies(ino, offset, n);
  }

  /** The bytes of [offset, offset + n) from the stream's parts, or undefined: take the block path. */
  async read(ino: number, offset: number, n: number): Promise<Buffer | undefined> {
    let st = this.streams.get(ino);
    const rs = this.link.remoteOf(ino);
    if (st && (!rs || rs.etag !== st.etag || rs.key !== st.key || offset + n > rs.backLen || offset > st.next + st.windowBytes)) {
      this.close(ino);
      st = undefined;
    }
    if (this.link.fetcher.absentRuns(ino, offset, offset + n).length === 0) return undefined; // cached
    if (!st) {
      if (!this.qualifies(ino, offset, n)) return undefined;
      st = this.open(ino, offset);
      if (!st) return undefined;
    }
    const oldest = st.parts[0]?.start ?? st.next;
    if (offset < oldest) return undefined;
    const want = Math.min(offset + n, st.end);
    st.readEnd = Math.max(st.readEnd, want);
    this.fill(ino, st);
    const covering = st.parts.filter((p) => p.end > offset && p.start < want);
    if (covering.length === 0 || covering[covering.length - 1]!.end < want) return undefined;
    for (const p of covering) await p.ready;
    if (this.streams.get(ino) !== st || covering.some((p) => p.failed !== undefined)) {
      const failed = covering.find((p) => p.failed !== undefined);
      if (failed) this.core.log.debug('a ranged GET of a stream failed; using block fetches', { ino, err: String(failed.failed) });
      this.close(ino);
      return undefined;
    }
    const out = copyOut(covering, offset, want);
    this.consumed(ino, st, offset);
    st.idle.refresh();
    this.streamedBytes += out.length;
    return out;
  }

  close(ino: number): void {
    const st = this.streams.get(ino);
    if (!st) return;
    this.streams.delete(ino);
    clearTimeout(st.idle);
    for (const p of st.parts) this.drop(p);
    st.parts = [];
  }

  closeAll(): void {
    for (const ino of Array.from(this.streams.keys())) this.close(ino);
  }

  /**
   * A large, unmodified, remote-backed file with `offset` far enough from its end: sequential
   * reads of it are streamed (and get no block read-ahead, which would fetch the same bytes).
   */
  eligible(ino: number, offset: number): boolean {
    const rec = this.core.inodes.get(ino);
    const rs = this.link.remoteOf(ino);
    if (!rec || rec.type !== 'file' || !rs || !hasBacking(rs) || rs.backLen !== rec.size || rs.backLen - offset < STREAM_MIN_BYTES) return false;
    if (this.link.uploads.has(ino)) return false;
    return !this.link.blocks.get(ino).anyDirty(0, Math.ceil(rec.size / this.link.blockSize) + 1);
  }

  private qualifies(ino: number, offset: number, n: number): boolean {
    if (this.streams.size >= MAX_STREAMS) return false;
    // A reader starting at 0 (cp, cat, checksums, players) is taken as sequential at once.
    const sequential = this.link.fetcher.sequentialFor(ino, STREAM_AFTER_BLOCKS) || (offset === 0 && this.link.fetcher.firstRead(ino));
    if (!sequential) return false;
    // Nothing of what comes next is cached already.
    return this.eligible(ino, offset) && this.link.fetcher.absentRuns(ino, offset, offset + Math.max(n, 8 * MiB)).length === 1;
  }

  private open(ino: number, offset: number): ActiveStream | undefined {
    const rs = this.link.remoteOf(ino);
    if (!rs || !hasBacking(rs)) return undefined;
    // Parts start on block boundaries, so that a later switch to the block path lines up.
    const start = offset - (offset % this.link.blockSize);
    const st: ActiveStream = {
      key: rs.key!,
      etag: rs.etag!,
      parts: [],
      next: start,
      end: rs.backLen,
      partBytes: INITIAL_PART_BYTES,
      windowBytes: INITIAL_WINDOW_BYTES,
      readEnd: offset,
      idle: setTimeout(() => this.close(ino), IDLE_MS),
    };
    st.idle.unref();
    this.streams.set(ino, st);
    this.streamsOpened++;
    return st;
  }

  /**
   * Sends ranged GETs for the window ahead of the latest read, as far as the stream's part
   * limit and the file system's budget allow. The part the reader needs now is always sent.
   */
  private fill(ino: number, st: ActiveStream): void {
    const aheadTo = Math.min(st.end, st.readEnd + st.windowBytes);
    // Parts sent in this loop cannot settle before it ends: counted once, then by hand.
    let inFlight = st.parts.filter((p) => !p.settled).length;
    while (st.next < aheadTo) {
      const needed = st.next < st.readEnd;
      if (!needed && (inFlight >= MAX_PARTS_IN_FLIGHT || this.budgetUsed + st.partBytes > BUDGET_BYTES)) break;
      const start = st.next;
      const end = Math.min(st.end, start + st.partBytes);
      st.parts.push(this.fetchPart(ino, st, start, end));
      inFlight++;
      st.next = end;
    }
  }

  private fetchPart(ino: number, st: ActiveStream, start: number, end: number): Part {
    const part: Part = { start, end, settled: false, dropped: false, ready: Promise.resolve() };
    this.budgetUsed += end - start;
    this.partsInFlight++;
    this.partRequests++;
    this.peakPartsInFlight = Math.max(this.peakPartsInFlight, this.partsInFlight);
    part.ready = this.link.source.readRange(st.key, st.etag, start, end - start).then(
      (data) => {
        if (data.length !== end - start) part.failed = new Error(`short ranged GET: ${data.length} of ${end - start} bytes`);
        else part.data = data;
      },
      (err: unknown) => {
        part.failed = err;
      },
    ).finally(() => {
      part.settled = true;
      this.partsInFlight--;
      if (part.dropped) this.release(part);
      // A part done makes room in the window and in the budget for the next ones.
      if (this.streams.get(ino) === st) this.fill(ino, st);
    });
    return part;
  }

  /**
   * The reader got past `offset`: parts wholly behind it (less what is kept for late reads)
   * are dropped, and a reader that keeps going gets larger parts and a wider window.
   */
  private consumed(ino: number, st: ActiveStream, offset: number): void {
    let finished = 0;
    while (st.parts.length > 0 && st.parts[0]!.end <= offset - KEEP_BEHIND) {
      this.drop(st.parts.shift()!);
      finished++;
    }
    if (finished > 0) {
      st.partBytes = Math.min(MAX_PART_BYTES, st.partBytes * 2);
      st.windowBytes = Math.min(MAX_WINDOW_BYTES, st.windowBytes * 2);
    }
    this.fill(ino, st);
  }

  private drop(part: Part): void {
    if (part.dropped) return;
    part.dropped = true;
    part.data = undefined;
    if (part.settled) this.release(part);
  }

  private release(part: Part): void {
    this.budgetUsed -= part.end - part.start;
  }
}

/** The bytes of [offset, want) from consecutive parts that cover them. */
function copyOut(parts: Part[], offset: number, want: number): Buffer {
  if (parts.length === 1) {
    const p = parts[0]!;
    return p.data!.subarray(offset - p.start, want - p.start);
  }
  const out = Buffer.allocUnsafe(want - offset);
  for (const p of parts) {
    const from = Math.max(offset, p.start);
    const to = Math.min(want, p.end);
    p.data!.copy(out, from - offset, from - p.start, to - p.start);
  }
  return out;
}
