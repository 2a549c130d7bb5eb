// Empty data files made ahead of need, for the inode numbers the next CREATEs will hand out.
//
// Inode numbers are allocated in order and never reused, so the data file a new file's first
// WRITE needs is known before the file exists. Made on demand, that first stable WRITE pays for
// an open that misses, an open that creates, and an fsync of the shard directory so the new
// name survives a power cut (~0.6 ms of the ~1 ms such a WRITE took on this machine's disk),
// while the client waits. Made here, in the background, a chunk's shard directories are
// fsynced before any of its names is handed out, and the first WRITE finds an open descriptor
// of a durable, empty file.
//
// A refill works in chunks (the numbers of one shard directory's run in data-store.ts's layout
// 2): it makes a chunk's files, fsyncs their directory, and hands them out before it starts the
// next. A file is costly to create while the client's own syncs run (~1 ms each,
// measured in the refill), so a busy client can catch up with a refill. It then waits at most
// for the chunk being made; a number whose chunk has not started is withdrawn from the refill
// and take() answers 'make': the caller creates that file itself and fsyncs its directory.
// (Waiting for the whole batch, as before, held single FILE_SYNC writes for up to ~60 ms.)
//
// A prepared file that was not taken (the number became a directory or a symlink, or a file
// that was never written) is closed once the allocation has moved `depth` numbers past it:
// unlinked if its inode is another kind, else left as that file's (empty) data file — the same
// state as no data file, and a write to it can then never race an unlink. Files of removed
// inodes are discarded by DataStore.remove before it unlinks them.
import fs from 'node:fs';
import { promisify } from 'node:util';
import type { Logger } from '../../log/logger';
import { syncDir } from '../util/dir-sync';

const openFile = promisify(fs.open);
const closeFd = promisify(fs.close);

const RETRY_AFTER_FAILURE_MS = 5_000;
/** Files a refill makes, syncs and hands out at a time, unless chunkOf says otherwise. */
const CHUNK = 16;

/** take()'s answer for a number the caller must create itself (and fsync its directory). */
export const MAKE_IT = 'make';

export interface DataFilePoolOptions {
  pathOf(ino: number): string;
  dirOf(ino: number): string;
  /** The next inode number the file system will allocate. */
  nextIno(): number;
  /** true for a regular file, false for another kind, undefined when the inode is gone. */
  isRegularFile(ino: number): boolean | undefined;
  /**
   * Numbers with the same key are made, synced and handed out together (a refill's chunk):
   * data-store.ts gives the numbers of one shard directory's run, so a chunk needs one
   * directory fsync. Default: runs of 16.
   */
  chunkOf?(ino: number): number;
  /** How many numbers ahead to prepare (default 128); refilled when half are used. */
  depth?: number;
  log: Logger;
}

export class DataFilePool {
  /** ino → open descriptor of its empty data file, whose name is durable. */
  private readonly ready = new Map<number, number>();
  /** Numbers the running refill will make, in chunks not started yet. */
  private readonly queued = new Set<number>();
  /** Numbers in the chunk being made → that chunk (their names not durable yet). */
  private readonly making = new Map<number, Promise<void>>();
  /** Numbers whose files a failed refill may have created without syncing their directory. */
  private readonly unsynced = new Set<number>();
  private filling?: Promise<void>;
  private closed = false;
  /** Date.now() before which no refill starts (after a failed one). */
  private retryAt = 0;
  private readonly depth: number;

  constructor(private readonly o: DataFilePoolOptions) {
    this.depth = o.depth ?? 128;
  }

  /**
   * Hands over the prepared descriptor for `ino` (the caller owns it from now on); MAKE_IT when
   * the caller must create the file (O_TRUNC: a file there holds nothing) and fsync its
   * directory before the first stable reply; undefined when the pool knows nothing of `ino`.
   */
  async take(ino: number): Promise<number | typeof MAKE_IT | undefined> {
    if (this.queued.delete(ino) || this.unsynced.delete(ino)) {
      this.refillSoon();
      return MAKE_IT;
    }
    await this.making.get(ino)?.catch(() => undefined);
    if (this.unsynced.delete(ino)) return MAKE_IT;
    const fd = this.ready.get(ino);
    if (fd !== undefined) this.ready.delete(ino);
    this.refillSoon();
    return fd;
  }

  /** The inode is gone (its data file is about to be unlinked): closes a prepared descriptor. */
  async discard(ino: number): Promise<void> {
    this.queued.delete(ino);
    await this.making.get(ino)?.catch(() => undefined);
    this.unsynced.delete(ino);
    const fd = this.ready.get(ino);
    if (fd === undefined) return;
    this.ready.delete(ino);
    await closeFd(fd).catch(() => undefined);
  }

  /** Starts a refill unless one runs or enough numbers ahead are ready. */
  refillSoon(): void {
    if (this.closed || this.filling || Date.now() < this.retryAt) return;
    const next = this.o.nextIno();
    let ahead = 0;
    for (const ino of this.ready.keys()) if (ino >= next) ahead++;
    if (ahead > this.depth / 2 && !this.hasStale(next)) return;
    this.filling = this.refill(next).then(
      () => {
        this.filling = undefined;
        // Allocation may have moved on while this batch was made.
        this.refillSoon();
      },
      (err: unknown) => {
        this.filling = undefined;
        // A full or failing disk: new files make their own data files meanwhile.
        this.retryAt = Date.now() + RETRY_AFTER_FAILURE_MS;
        this.o.log.warn('preparing data files failed; new files create theirs on first write', { err });
      },
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.filling;
    const fds = [...this.ready.values()];
    this.ready.clear();
    await Promise.all(fds.map((fd) => closeFd(fd).catch(() => undefined)));
  }

  private hasStale(next: number): boolean {
    for (const ino of this.ready.keys()) if (ino < next - this.depth) return true;
    return false;
  }

  private async refill(allocatedBelow: number): Promise<void> {
    await this.releaseStale(allocatedBelow);
    // Read again after the awaits: a number allocated meanwhile may already be taken and
    // written, and must never be made (O_TRUNC) again. Between here and `queued` nothing awaits.
    const next = this.o.nextIno();
    const wanted: number[] = [];
    for (let ino = next; ino < next + this.depth; ino++) if (!this.ready.has(ino) && !this.unsynced.has(ino)) wanted.push(ino);
    for (const ino of wanted) this.queued.add(ino);
    try {
      const chunkOf = this.o.chunkOf ?? ((ino: number) => Math.floor(ino / CHUNK));
      for (let i = 0; i < wanted.length && !this.closed; ) {
        let end = i + 1;
        while (end < wanted.length && chunkOf(wanted[end]!) === chunkOf(wanted[i]!)) end++;
        // A number taken meanwhile was withdrawn (its taker makes the file) and is skipped.
        const chunk = wanted.slice(i, end).filter((ino) => this.queued.delete(ino));
        i = end;
        if (chunk.length === 0) continue;
        const made = this.makeChunk(chunk);
        for (const ino of chunk) this.making.set(ino, made);
        try {
          await made;
        } finally {
          for (const ino of chunk) this.making.delete(ino);
        }
      }
    } finally {
      // Closing, or a chunk failed: the rest is not made.
      for (const ino of wanted) this.queued.delete(ino);
    }
  }

  /** Makes the chunk's files, fsyncs their directories, then hands them out. */
  private async makeChunk(chunk: number[]): Promise<void> {
    const made = new Map<number, number>();
    try {
      for (const ino of chunk) {
        // O_TRUNC: a file left by an earlier run for a number not allocated yet holds nothing.
        const flags = fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC;
        made.set(ino, await openFile(this.o.pathOf(ino), flags, 0o600));
      }
      // Together: on the thread pool they overlap, and the block layer merges their flushes
      // (a chunk spans up to CHUNK directories in the old layout 1).
      const dirs = new Set(chunk.map((ino) => this.o.dirOf(ino)));
      const synced = await Promise.allSettled([...dirs].map((dir) => syncDir(dir)));
      const failed = synced.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      for (const [ino, fd] of made) this.ready.set(ino, fd);
      made.clear();
    } catch (err) {
      // Created, perhaps, but not durable: whoever takes these numbers makes them again.
      for (const ino of chunk) this.unsynced.add(ino);
      throw err;
    } finally {
      // On failure, what was opened is closed; the empty files stay, harmless and reused later.
      await Promise.all([...made.values()].map((fd) => closeFd(fd).catch(() => undefined)));
    }
  }

  private async releaseStale(next: number): Promise<void> {
    for (const [ino, fd] of [...this.ready]) {
      // Taken meanwhile (during an await below): the descriptor is its taker's now.
      if (ino >= next - this.depth || this.ready.get(ino) !== fd) continue;
      this.ready.delete(ino);
      await closeFd(fd).catch(() => undefined);
      // Only a number that is certainly not a regular file: one whose record is not visible
      // yet (or is gone: remove() unlinks those) may still be opened for a write meanwhile.
      if (this.o.isRegularFile(ino) !== false) continue;
      await fs.promises.unlink(this.o.pathOf(ino)).catch(() => undefined);
    }
  }
}
