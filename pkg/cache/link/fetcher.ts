// Lazy file contents: blocks of a remote-backed file (below RemoteState.backLen) that are not
// present locally are fetched with ranged GETs (runs of a few blocks per request, pinned to the
// ETag the cache knows), written into the sparse data file and marked present. A sequential
// reader gets a read-ahead window that doubles up to readAheadBytes.
//
// Concurrency: fetches run under the file's shared lock (the caller's, or the read-ahead's
// own), so a truncate or a content reset (exclusive) never races one; one block is fetched by
// one request at a time, later callers wait for it. A WRITE first waits for fetches of the
// blocks it touches and fetches those it covers only in part, so fetched bytes never land on
// top of newer written ones.
import { FsError, fromSystemError } from '../../vfs';
import type { FsCore } from '../core/core';
import type { LinkView } from './link-view';
import { RemoteGoneError } from './remote';
import type { RemoteState } from '../meta/remote-state';

/** Bytes of one ranged GET at most (read-ahead fetches aligned units of this size). */
const DEFAULT_RUN_BYTES = 8 * 1024 * 1024;
/** Read-ahead runs in flight for the whole file system (bounds memory and S3 requests). */
const MAX_READ_AHEAD = 8;
/** How far (in blocks) a read may land from where the last one ended and still be sequential. */
const SEQUENTIAL_SLACK_BLOCKS = 4;
/** Read-ahead state is kept for this many files at most. */
const MAX_SEQUENCES = 10_000;

/** Longest a read waits for an upload of the same file to record its new ETag. */
const UPLOAD_WAIT_MS = 5000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export interface FetchOptions {
  /** The read is the reconciler's, for an upload of this very file. */
  fromUpload?: boolean;
}

interface Sequence {
  next: number;
  window: number;
}

export class Fetcher {
  private readonly inflight = new Map<number, Map<number, Promise<void>>>();
  private readonly sequences = new Map<number, Sequence>();
  private readAheads = 0;
  /** Bytes fetched from the bucket (for metrics and tests). */
  fetchedBytes = 0;
  fetchRequests = 0;

  /** Blocks in one ranged GET at most. */
  private readonly runBlocks: number;

  constructor(
    private readonly core: FsCore,
    private readonly link: LinkView,
  ) {
    this.runBlocks = Math.max(1, Math.floor((Number(process.env.S3FILES_FETCH_RUN_BYTES) || DEFAULT_RUN_BYTES) / link.blockSize));
  }

  forget(ino: number): void {
    this.sequences.delete(ino);
  }

  /** Absent remote blocks overlapping [offset, end): [first, last] block runs, or none. */
  absentRuns(ino: number, offset: number, end: number): Array<[number, number]> {
    const rs = this.link.remoteOf(ino);
    if (!rs || !hasBacking(rs)) return [];
    const limit = Math.min(end, rs.backLen);
    if (offset >= limit) return [];
    const blocks = this.link.blocks;
    const runs: Array<[number, number]> = [];
    const last = blocks.blockOf(limit - 1);
    for (let b = blocks.blockOf(offset); b <= last; b++) {
      if (blocks.isPresent(ino, b)) continue;
      const run = runs[runs.length - 1];
      if (run && run[1] === b - 1) run[1] = b;
      else runs.push([b, b]);
    }
    return runs;
  }

  /**
   * Makes every remote-backed block overlapping [offset, end) present. The caller holds the
   * file's lock (shared). Throws FsError (EIO when the object changed or vanished in the
   * bucket, ENOSPC when the cache disk is full).
   */
  async ensure(ino: number, offset: number, end: number, opts: FetchOptions = {}): Promise<void> {
    for (let round = 0; round < 4; round++) {
      const rs = this.link.remoteOf(ino);
      if (!rs || !hasBacking(rs)) return;
      const waits: Array<Promise<void>> = [];
      const running = this.inflight.get(ino);
      for (const [first, last] of this.absentRuns(ino, offset, end)) {
        let start = -1;
        for (let b = first; b <= last + 1; b++) {
          const busy = b <= last ? running?.get(b) : undefined;
          const endRun = b > last || busy !== undefined || (start >= 0 && b - start >= this.runBlocks);
          if (endRun && start >= 0) {
            waits.push(this.fetchRun(ino, rs, start, b - 1, opts));
            start = -1;
          }
          // Another fetch of the block (a read-ahead, an import) failing is only a hint: the
          // next round fetches what is still absent.
          if (busy) waits.push(busy.catch(() => undefined));
          else if (b <= last && start < 0) start = b;
        }
      }
      if (waits.length === 0) return;
      await Promise.all(waits);
    }
    if (this.absentRuns(ino, offset, end).length > 0) throw new FsError('EIO', `inode ${ino}: its data could not be fetched from the bucket`);
  }

  /** Waits until no fetch of a block overlapping [offset, end) is running. */
  async settle(ino: number, offset: number, end: number): Promise<void> {
    const blocks = this.link.blocks;
    for (;;) {
      const running = this.inflight.get(ino);
      if (!running) return;
      const waits: Array<Promise<void>> = [];
      for (let b = blocks.blockOf(offset); b <= blocks.blockOf(Math.max(offset, end - 1)); b++) {
        const p = running.get(b);
        if (p) waits.push(p.catch(() => undefined));
      }
      if (waits.length === 0) return;
      await Promise.all(waits);
    }
  }

  /**
   * Before a WRITE of [offset, end): blocks it covers only in part are fetched (the rest of
   * the block must survive), blocks it covers whole are simply marked present.
   */
  async prepareWrite(ino: number, offset: number, end: number): Promise<void> {
    const rs = this.link.remoteOf(ino);
    if (!rs || !hasBacking(rs) || offset >= rs.backLen) return;
    const bs = this.link.blockSize;
    const blocks = this.link.blocks;
    const first = blocks.blockOf(offset);
    const last = blocks.blockOf(Math.min(end, rs.backLen) - 1);
    const partial = (b: number) => offset > b * bs || end < Math.min((b + 1) * bs, rs.backLen);
    if (partial(first)) await this.ensure(ino, first * bs, first * bs + 1);
    if (last !== first && partial(last)) await this.ensure(ino, last * bs, last * bs + 1);
    await this.settle(ino, offset, end);
    // Synchronously after the wait: no fetch of these blocks can start before they are marked.
    const whole: number[] = [];
    for (let b = first; b <= last; b++) if (!partial(b) && !blocks.isPresent(ino, b)) whole.push(b);
    for (const b of whole) blocks.markPresent(ino, b, b);
  }

  /**
   * Fills the remote-backed holes of `local` (bytes [offset, offset + local.length) as read
   * from the data file) straight from the bucket, without caching: for a full cache disk.
   */
  async readThrough(ino: number, offset: number, local: Buffer): Promise<Buffer> {
    const rs = this.link.remoteOf(ino);
    if (!rs || !hasBacking(rs)) return local;
    const bs = this.link.blockSize;
    const end = offset + local.length;
    for (const [first, last] of this.absentRuns(ino, offset, end)) {
      const start = Math.max(offset, first * bs);
      const stop = Math.min(end, (last + 1) * bs, rs.backLen);
      const bytes = await this.readRemote(ino, rs, start, stop - start);
      bytes.copy(local, start - offset);
    }
    return local;
  }

  /**
   * Fetches all of a file's remote-backed bytes with `read` (a whole-object GET: import-queue.ts)
   * as one fetch, so readers and writers of any of its blocks wait for it as for any other.
   * Undefined if a block is already present or being fetched (the caller fetches otherwise).
   * The caller holds the file's lock (shared).
   */
  fetchWhole(ino: number, rs: RemoteState, read: () => Promise<Buffer>): Promise<void> | undefined {
    if (!hasBacking(rs)) return undefined;
    const last = this.link.blocks.blockOf(rs.backLen - 1);
    const running = this.inflight.get(ino);
    for (let b = 0; b <= last; b++) if (running?.has(b) || this.link.blocks.isPresent(ino, b)) return undefined;
    return this.fetchRun(ino, rs, 0, last, {}, read);
  }

  /**
   * Records a read of [offset, offset + count): a sequential reader's window doubles. Reads a
   * little out of order (the kernel client keeps several READs in flight) still count as
   * sequential; a jump resets the window.
   */
  track(ino: number, offset: number, count: number): void {
    const seq = this.sequences.get(ino) ?? { next: 0, window: 0 };
    const max = this.maxWindow();
    const slack = SEQUENTIAL_SLACK_BLOCKS * this.link.blockSize;
    const sequential = offset >= seq.next - slack && offset <= seq.next + slack;
    seq.window = sequential ? Math.min(max, Math.max(2, seq.window * 2)) : 0;
    seq.next = sequential ? Math.max(seq.next, offset + count) : offset + count;
    if (this.sequences.size >= MAX_SEQUENCES && !this.sequences.has(ino)) this.sequences.clear();
    this.sequences.set(ino, seq);
  }

  /** True if the only read of `ino` seen so far (since its state was dropped) is the current one. */
  firstRead(ino: number): boolean {
    const seq = this.sequences.get(ino);
    return seq === undefined || (seq.window <= 2 && seq.next <= this.link.blockSize);
  }

  /** The reader of `ino` is sequential with a window of at least `blocks` blocks. */
  sequentialFor(ino: number, blocks: number): boolean {
    return (this.sequences.get(ino)?.window ?? 0) >= blocks;
  }

  private maxWindow(): number {
    return Math.max(1, Math.floor(this.link.readAheadBytes / this.link.blockSize));
  }

  /**
   * Starts read-ahead after a read of [offset, offset + count) (see track) if the reader is
   * sequential: the window is fetched in aligned units of one run (runBlocks), one GET each,
   * starting with the unit the read is in, so that a sequential reader finds its next blocks on
   * the way and every request is as large as a run may be.
   */
  readAhead(ino: number, offset: number, count: number): void {
    const window = this.sequences.get(ino)?.window ?? 0;
    if (window === 0) return;
    const unit = this.runBlocks * this.link.blockSize;
    const end = offset + count + window * this.link.blockSize;
    for (let from = Math.floor(offset / unit) * unit; from < end && this.readAheads < MAX_READ_AHEAD; from += unit) {
      const to = from + unit;
      const runs = this.absentRuns(ino, from, to);
      const running = this.inflight.get(ino);
      if (runs.length === 0 || runs.every(([a, b]) => running?.has(a) && running.has(b))) continue;
      this.readAheads++;
      this.core.states
        .get(ino)
        .lock.shared(() => this.ensure(ino, from, to))
        .catch((err: unknown) => this.core.log.debug('read-ahead failed', { ino, err: String(err) }))
        .finally(() => this.readAheads--);
    }
  }

  private fetchRun(ino: number, rs: RemoteState, first: number, last: number, opts: FetchOptions, read?: () => Promise<Buffer>): Promise<void> {
    const bs = this.link.blockSize;
    const start = first * bs;
    const stop = Math.min((last + 1) * bs, rs.backLen);
    let running = this.inflight.get(ino);
    if (!running) {
      running = new Map();
      this.inflight.set(ino, running);
    }
    const p = this.fetchAndStore(ino, rs, start, stop, opts, read).then(() => this.link.blocks.markPresent(ino, first, last));
    for (let b = first; b <= last; b++) running.set(b, p);
    const cleanup = () => {
      const map = this.inflight.get(ino);
      if (!map) return;
      for (let b = first; b <= last; b++) if (map.get(b) === p) map.delete(b);
      if (map.size === 0) this.inflight.delete(ino);
    };
    p.then(cleanup, cleanup);
    return p;
  }

  private async fetchAndStore(ino: number, rs0: RemoteState, start: number, stop: number, opts: FetchOptions, read?: () => Promise<Buffer>): Promise<void> {
    const buf = read ? await read() : await this.readRemote(ino, rs0, start, stop - start, opts);
    if (buf.length !== stop - start) throw new FsError('EIO', `inode ${ino}: the bucket sent ${buf.length} bytes for ${stop - start}`);
    try {
      await this.core.capacity.admitOnDisk(buf.length, ino);
      await this.core.data.write(ino, start, buf);
    } catch (err) {
      const e = fromSystemError(err, `caching fetched data of inode ${ino}`);
      // A full cache disk: the caller reads through; clean files make room for later reads.
      if (e.code === 'ENOSPC' || e.code === 'EDQUOT') void this.link.evictor.relieve();
      throw e;
    }
    this.fetchedBytes += buf.length;
    // The range was a hole: it now takes its length in 4 KiB pages (persist re-reads the exact
    // allocation from the disk).
    this.core.inodes.update(ino, (r) => (r.used += Math.ceil(buf.length / 4096) * 4096));
    this.link.evictor.touch(ino);
  }

  /**
   * A ranged GET pinned to the ETag. If the object changed because our own upload replaced it
   * (same bytes below backLen), the read is retried against the new ETag.
   */
  async readRemote(ino: number, rs0: RemoteState, offset: number, length: number, opts: FetchOptions = {}): Promise<Buffer> {
    let rs = rs0;
    for (let attempt = 0; ; attempt++) {
      try {
        this.fetchRequests++;
        const buf = await this.link.source.readRange(rs.key!, rs.etag!, offset, length);
        if (buf.length !== length) throw new RemoteGoneError(rs.key!, `object is shorter than expected (${offset}+${buf.length} of ${length})`);
        return buf;
      } catch (err) {
        if (!(err instanceof RemoteGoneError)) throw new FsError('EIO', `fetching inode ${ino} from the bucket`, { cause: err });
        // Our own upload may be replacing the object right now: its record comes in a moment.
        // (Bounded: the uploader's own reads, and reads it waits for, must not wait on it.)
        const upload = this.link.uploads.get(ino);
        if (upload && !opts.fromUpload) await Promise.race([upload.done, sleep(UPLOAD_WAIT_MS)]);
        const now = this.link.remoteOf(ino);
        if (attempt < 2 && now && hasBacking(now) && (now.key !== rs.key || now.etag !== rs.etag) && offset + length <= now.backLen) {
          rs = now;
          continue;
        }
        this.link.importer.markStale(ino);
        throw new FsError('EIO', `inode ${ino} changed or vanished in the bucket`, { cause: err });
      }
    }
  }
}

export function hasBacking(rs: RemoteState): boolean {
  return rs.backLen > 0 && rs.key !== undefined && rs.etag !== undefined;
}
