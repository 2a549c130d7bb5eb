// Large sequential reads of uncached, unmodified data straight from the bucket (DESIGN.md
// decisions 4 and 7): once a reader of a large remote-backed file has been sequential for a
// while and what follows is not cached, one streamed GET (pinned to the ETag) from its offset to
// the end serves its reads, without writing the data to the cache disk. This is what a cold
// sequential read costs with a plain SDK GET; block fetches (fetcher.ts) pay a request per run
// and a write and a read of the cache disk per byte.
//
// The stream is read into a bounded buffer indexed by file offset, so READs that arrive a little
// out of order (the kernel client keeps several in flight) are served too. A read the stream
// cannot serve (behind it, far ahead, over a present block, after the object changed) takes the
// block path; the stream closes after IDLE_MS without reads, on a jump, or on any change.
import type { FsCore } from '../core/core';
import { hasBacking } from './fetcher';
import type { LinkView } from './link-view';
import type { RemoteStream } from './remote';

const MiB = 1024 * 1024;
/** Bytes left to read for a stream to be worth opening. */
const STREAM_MIN_BYTES = 32 * MiB;
/** Most bytes buffered ahead of the oldest read still expected. */
const MAX_AHEAD = 32 * MiB;
/** Bytes read from the stream ahead of the latest read, in the background. */
const PUMP_AHEAD = 16 * MiB;
/** Bytes kept behind the latest read, for reads that arrive late. */
const KEEP_BEHIND = 8 * MiB;
const IDLE_MS = 5000;
const MAX_STREAMS = 8;
/** The reader's sequential window (in blocks) from which a stream opens: two reads in a row. */
const STREAM_AFTER_BLOCKS = 4;

interface ActiveStream {
  etag: string;
  /** File offset of the first buffered byte. */
  start: number;
  chunks: Buffer[];
  bytes: number;
  end: number;
  body: RemoteStream;
  iterator: AsyncIterator<Buffer>;
  pulling?: Promise<void>;
  pumping?: boolean;
  finished: boolean;
  idle: NodeJS.Timeout;
}

export class Streamer {
  private readonly streams = new Map<number, ActiveStream>();
  /** Bytes served from streams (for metrics and tests). */
  streamedBytes = 0;
  streamsOpened = 0;

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

  /** The bytes of [offset, offset + n) from a stream, or undefined: take the block path. */
  async read(ino: number, offset: number, n: number): Promise<Buffer | undefined> {
    let st = this.streams.get(ino);
    const rs = this.link.remoteOf(ino);
    if (st && (!rs || rs.etag !== st.etag || offset + n > rs.backLen || offset > st.start + st.bytes + MAX_AHEAD)) {
      this.close(ino);
      st = undefined;
    }
    if (this.link.fetcher.absentRuns(ino, offset, offset + n).length === 0) return undefined; // cached
    if (!st) {
      if (!this.qualifies(ino, offset, n)) return undefined;
      st = await this.open(ino, offset);
      if (!st) return undefined;
    }
    if (offset < st.start) return undefined;
    const want = Math.min(offset + n, st.end);
    while (st.start + st.bytes < want && !st.finished) await this.pull(ino, st);
    if (st.start + st.bytes < want) {
      this.close(ino);
      return undefined;
    }
    const out = this.copyOut(st, offset, want - offset);
    this.trim(st, offset - KEEP_BEHIND);
    st.idle.refresh();
    this.streamedBytes += out.length;
    this.pumpAhead(ino, st, want);
    return out;
  }

  /**
   * Keeps reading the stream in the background up to PUMP_AHEAD bytes past the latest read, so
   * the socket never stalls while the reader is busy between two READs.
   */
  private pumpAhead(ino: number, st: ActiveStream, readEnd: number): void {
    if (st.pumping || st.finished) return;
    st.pumping = true;
    void (async () => {
      try {
        while (!st.finished && this.streams.get(ino) === st && st.start + st.bytes < Math.min(st.end, readEnd + PUMP_AHEAD)) await this.pull(ino, st);
      } finally {
        st.pumping = false;
      }
    })();
  }

  close(ino: number): void {
    const st = this.streams.get(ino);
    if (!st) return;
    this.streams.delete(ino);
    clearTimeout(st.idle);
    st.body.destroy();
  }

  closeAll(): void {
    for (const ino of Array.from(this.streams.keys())) this.close(ino);
  }

  /**
   * A large, unmodified, remote-backed file with `offset` far enough from its end: sequential
   * reads of it are streamed (and get no block read-ahead, which would fetch the same bytes).
   */
  eligible(ino: number, offset: number): boolean {
    if (!this.link.source.openStream) return false;
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

  private async open(ino: number, offset: number): Promise<ActiveStream | undefined> {
    const rs = this.link.remoteOf(ino)!;
    let body: RemoteStream;
    try {
      body = await this.link.source.openStream!(rs.key!, rs.etag!, offset, rs.backLen - offset);
    } catch (err) {
      this.core.log.debug('could not open a stream; using block fetches', { ino, err: String(err) });
      return undefined;
    }
    const existing = this.streams.get(ino);
    if (existing) {
      body.destroy(); // another read opened one meanwhile
      return existing;
    }
    const st: ActiveStream = {
      etag: rs.etag!,
      start: offset,
      chunks: [],
      bytes: 0,
      end: rs.backLen,
      body,
      iterator: body[Symbol.asyncIterator](),
      finished: false,
      idle: setTimeout(() => this.close(ino), IDLE_MS),
    };
    st.idle.unref();
    this.streams.set(ino, st);
    this.streamsOpened++;
    return st;
  }

  /** Reads the next chunk into the buffer (one puller at a time; others wait for it). */
  private pull(ino: number, st: ActiveStream): Promise<void> {
    st.pulling ??= (async () => {
      try {
        const r = await st.iterator.next();
        if (r.done) st.finished = true;
        else {
          st.chunks.push(r.value);
          st.bytes += r.value.length;
        }
      } catch (err) {
        this.core.log.debug('stream failed; using block fetches', { ino, err: String(err) });
        st.finished = true;
      } finally {
        st.pulling = undefined;
      }
    })();
    return st.pulling;
  }

  private copyOut(st: ActiveStream, offset: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    let pos = st.start;
    let copied = 0;
    for (const c of st.chunks) {
      const cEnd = pos + c.length;
      if (cEnd > offset && pos < offset + length) {
        const from = Math.max(0, offset - pos);
        const to = Math.min(c.length, offset + length - pos);
        c.copy(out, Math.max(0, pos - offset), from, to);
        copied += to - from;
      }
      pos = cEnd;
      if (pos >= offset + length) break;
    }
    return out.subarray(0, copied);
  }

  /** Drops buffered bytes before `offset` (whole chunks). */
  private trim(st: ActiveStream, offset: number): void {
    while (st.chunks.length > 0 && st.start + st.chunks[0]!.length <= offset) {
      const c = st.chunks.shift()!;
      st.start += c.length;
      st.bytes -= c.length;
    }
  }
}
