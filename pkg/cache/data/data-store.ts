// File contents: one sparse local file per regular-file inode, <dir>/data/<shard>/<ino in hex>,
// created on the first write, or ahead of it by the pool of prepared files (data-file-pool.ts).
// The shard is (ino / 16) & 0xff: runs of 16 consecutive numbers share a directory, so the
// pool makes the files for the next numbers a run at a time with one directory fsync each, not
// one per file (layout 1, ino & 0xff; through the kernel client a create then cost three flushes
// of the disk's cache where the first WRITE's fdatasync needs one). Runs are short so the pool,
// which works ahead, creates files in other directories than the ones the client's first
// WRITEs sync (on ext4 a new file's fsync syncs its directory too; a create in a directory
// being synced took ~180 µs here against ~80 µs elsewhere).
// Directories made before layout 2 have no LAYOUT file and keep layout 1.
// Holes read back as zeros; bytes past the data file's end (a file extended by SETATTR) are
// zeros too, so extending never touches the data file.
//
// Invariant: the data file is never longer than the file's logical size except during a write
// that extends it. A data file found longer when opened (left by a crash before its record was
// updated, see core/recovery.ts) is cut back to the recorded size, so stale bytes can never show up
// in a later hole.
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../../log/logger';
import { DataFilePool, MAKE_IT } from './data-file-pool';
import { syncDir } from '../util/dir-sync';
import { FdCache } from './fd-cache';
import { InlineSyncPolicy } from '../util/inline-sync';
import { ReadBuffers } from './read-buffers';

const pread = promisify(fs.read);
const pwrite = promisify(fs.write);
const fdatasync = promisify(fs.fdatasync);
const ftruncate = promisify(fs.ftruncate);
const fstat = promisify(fs.fstat);
const openFile = promisify(fs.open);
const closeFd = promisify(fs.close);

const SHARDS = 256;
/** Consecutive inode numbers per shard directory in layout 2. */
const RUN = 16;
/** Marks a data directory made with layout 2 (see the header). */
const LAYOUT_FILE = 'LAYOUT';

export type DataLayout = 1 | 2;

/** The data file of `ino` under a cache directory's data/ (see the header). */
export function dataFilePath(dataRoot: string, ino: number, layout: DataLayout): string {
  return path.join(dataRoot, shardOf(ino, layout).toString(16).padStart(2, '0'), ino.toString(16));
}

function shardOf(ino: number, layout: DataLayout): number {
  return (layout === 2 ? Math.floor(ino / RUN) : ino) % SHARDS;
}

interface SyncProgress {
  /** Writes completed. */
  written: number;
  /** Writes covered by a finished fdatasync. */
  synced: number;
  /** Callers inside syncFd. */
  waiting: number;
  running?: Promise<void>;
}

export interface DataStoreOptions {
  dir: string;
  maxOpenFiles?: number;
  /** The logical size of a file, or undefined if the inode is gone. */
  logicalSize(ino: number): number | undefined;
  /** With all three: empty data files are prepared ahead for the next inode numbers (data-file-pool.ts). */
  nextIno?: () => number;
  isRegularFile?: (ino: number) => boolean | undefined;
  logger?: Logger;
}

export class DataStore {
  readonly root: string;
  /**
   * Whether a small stable write and its sync run on this thread (inline-sync.ts). A stable
   * write this soon (ms) after an inline sync ended is taken as a second writer.
   */
  private readonly inlineSyncs = new InlineSyncPolicy(0.2);
  /** Buffers for large reads (read-buffers.ts), up to the 1 MiB a client reads at a time. */
  readonly readBuffers = new ReadBuffers(1024 * 1024, 32);
  private readonly fds: FdCache;
  /**
   * Per file: writes completed, and how many of them an fdatasync has covered. A count is
   * taken after the write returns, so a sync that starts while a write is in flight does not
   * claim to cover it.
   */
  private readonly progress = new Map<number, SyncProgress>();
  /** Files created since their shard directory was last fsynced. */
  private readonly newFiles = new Set<number>();
  /**
   * Files whose write-back failed (an fdatasync error, here or when an evicted descriptor was
   * closed). Linux reports such an error once and then forgets it, so a later fdatasync would
   * succeed although data was lost: the failure is kept and every later sync of the file fails
   * (EIO) until the file is removed or the server restarts (which changes the NFS write
   * verifier, so clients resend what they had not seen committed).
   */
  private readonly failed = new Map<number, unknown>();
  private readonly pool?: DataFilePool;

  private constructor(
    private readonly opts: DataStoreOptions,
    readonly layout: DataLayout,
  ) {
    this.root = path.join(opts.dir, 'data');
    const { nextIno, isRegularFile, logger } = opts;
    if (nextIno && isRegularFile && logger) {
      this.pool = new DataFilePool({
        pathOf: (ino) => this.pathOf(ino),
        dirOf: (ino) => this.shardDir(this.shardOf(ino)),
        // Layout 2: a run's files share a directory (one fsync); layout 1: 16 directories.
        chunkOf: (ino) => Math.floor(ino / RUN),
        nextIno,
        isRegularFile,
        log: logger,
      });
    }
    this.fds = new FdCache(
      {
        open: (ino, create) => this.openData(ino, create),
        beforeClose: (ino, fd, evicted) => this.beforeClose(ino, fd, evicted),
      },
      opts.maxOpenFiles ?? 512,
    );
  }

  static async create(opts: DataStoreOptions): Promise<DataStore> {
    const store = new DataStore(opts, await DataStore.prepareLayout(path.join(opts.dir, 'data')));
    for (let i = 0; i < SHARDS; i++) await fs.promises.mkdir(store.shardDir(i), { recursive: true });
    return store;
  }

  /**
   * The layout of the data directory `root`: 2 for a new (missing or empty) one, marked before
   * any data file goes in (a crash before the mark leaves an empty directory, new again next
   * time); else what its LAYOUT file says, and 1 without one.
   */
  private static async prepareLayout(root: string): Promise<DataLayout> {
    const marker = path.join(root, LAYOUT_FILE);
    try {
      const text = (await fs.promises.readFile(marker, 'utf8')).trim();
      if (text === '2') return 2;
      throw new Error(`${marker}: unknown data layout ${JSON.stringify(text)}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const fresh = !fs.existsSync(root) || (await fs.promises.readdir(root)).length === 0;
    if (!fresh) return 1;
    await fs.promises.mkdir(root, { recursive: true });
    const h = await fs.promises.open(marker, 'w', 0o600);
    try {
      await h.writeFile('2\n');
      await h.sync();
    } finally {
      await h.close();
    }
    await syncDir(root);
    return 2;
  }

  /** Starts preparing data files for the next inode numbers (once the metadata is recovered). */
  startPreparing(): void {
    this.pool?.refillSoon();
  }

  get openFiles(): number {
    return this.fds.openCount;
  }

  pathOf(ino: number): string {
    return dataFilePath(this.root, ino, this.layout);
  }

  /**
   * Reads up to `length` bytes, into `into` if given (at least `length` bytes long); shorter at
   * the data file's end, empty if there is no data file.
   */
  async read(ino: number, offset: number, length: number, into?: Buffer): Promise<Buffer> {
    try {
      return await this.fds.use(ino, false, async (fd) => {
        const buf = into ?? Buffer.allocUnsafe(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await pread(fd, buf, got, length - got, offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return buf.subarray(0, got);
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
      throw err;
    }
  }

  /** `stable`: a write its caller syncs next (small ones may run on this thread, inline-sync.ts). */
  async write(ino: number, offset: number, data: Buffer, stable = false): Promise<void> {
    const inline = stable && this.inlineSyncs.mayInline(data.length);
    await this.fds.use(ino, true, async (fd) => {
      let done = 0;
      try {
        while (done < data.length) {
          const bytesWritten = inline
            ? fs.writeSync(fd, data, done, data.length - done, offset + done)
            : (await pwrite(fd, data, done, data.length - done, offset + done)).bytesWritten;
          done += bytesWritten;
        }
      } finally {
        this.markWritten(ino);
      }
    });
  }

  /** Cuts the data file to `size` if it is longer; a missing data file is left missing. */
  async truncate(ino: number, size: number): Promise<void> {
    await this.withExisting(ino, async (fd) => {
      const st = await fstat(fd);
      if (st.size > size) {
        await ftruncate(fd, size);
        // The shorter size must be on disk before the truncate is acknowledged: a dirty file's
        // size is taken from its data file after a crash (core/recovery.ts).
        await fdatasync(fd);
      }
    });
  }

  /**
   * Makes the file's data (and its directory entry, if new) durable. `afterSmallWrite`: the
   * caller just wrote at most INLINE_MAX_BYTES, so the fdatasync may run on this thread if
   * nothing else is dirty in the file and no other writer overlaps (inline-sync.ts).
   */
  async sync(ino: number, afterSmallWrite = false): Promise<void> {
    const failed = this.failed.get(ino);
    if (failed) throw failed;
    const p = this.progress.get(ino);
    if (p && p.written > p.synced) {
      try {
        await this.syncFd(ino, p, (fn) => this.withExisting(ino, fn), afterSmallWrite);
      } catch (err) {
        this.failed.set(ino, err);
        throw err;
      }
    }
    if (this.newFiles.has(ino)) {
      await syncDir(this.shardDir(this.shardOf(ino)));
      this.newFiles.delete(ino);
    }
  }

  needsSync(ino: number): boolean {
    const p = this.progress.get(ino);
    return (p !== undefined && p.written > p.synced) || this.newFiles.has(ino) || this.failed.has(ino);
  }

  hasFailed(ino: number): boolean {
    return this.failed.has(ino);
  }

  private markWritten(ino: number): void {
    const p = this.progress.get(ino);
    if (p) p.written++;
    else this.progress.set(ino, { written: 1, synced: 0, waiting: 0 });
  }

  /**
   * fdatasync covering every write completed before the call. Concurrent callers share one
   * fdatasync: while one runs, later callers wait for it and then, if writes landed meanwhile,
   * run the next one together. A failure reaches everyone waiting on it. Settled files are
   * forgotten.
   */
  private async syncFd(
    ino: number,
    p: SyncProgress,
    withFd: (fn: (fd: number) => Promise<unknown>) => Promise<void>,
    afterSmallWrite = false,
  ): Promise<void> {
    const target = p.written;
    p.waiting++;
    try {
      while (p.synced < target) {
        if (!p.running) {
          const covers = p.written;
          const inline = afterSmallWrite && covers - p.synced === 1 && this.inlineSyncs.mayInline(0);
          const ended = inline ? this.inlineSyncs.inlineStarted() : this.inlineSyncs.asyncStarted();
          p.running = withFd(async (fd) => (inline ? fs.fdatasyncSync(fd) : fdatasync(fd)))
            .finally(ended)
            .then(() => {
              p.synced = Math.max(p.synced, covers);
            })
            .finally(() => (p.running = undefined));
        }
        await p.running;
      }
    } finally {
      p.waiting--;
      if (p.waiting === 0 && p.synced >= p.written && this.progress.get(ino) === p) this.progress.delete(ino);
    }
  }

  /** Bytes allocated on disk (st_blocks * 512), 0 without a data file. */
  async allocated(ino: number): Promise<number> {
    return (await this.fileSize(ino))?.used ?? 0;
  }

  /** The data file's size, or undefined when there is none (used by crash recovery). */
  async fileSize(ino: number): Promise<{ size: number; used: number } | undefined> {
    try {
      const st = await fs.promises.stat(this.pathOf(ino));
      return { size: st.size, used: st.blocks * 512 };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Deletes the data file (the inode is gone). Missing files are fine. */
  async remove(ino: number): Promise<void> {
    await this.pool?.discard(ino);
    await this.fds.drop(ino).catch(() => undefined);
    this.progress.delete(ino);
    this.newFiles.delete(ino);
    this.failed.delete(ino);
    await fs.promises.unlink(this.pathOf(ino)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  async close(): Promise<void> {
    await this.pool?.close();
    await this.fds.closeAll();
  }

  /**
   * The largest file size the cache disk supports (ext4: 16 TiB - 4 KiB; xfs: 8 EiB), found by
   * extending an empty sparse file; capped at 2^53 - 1, the largest exact JS number.
   */
  async probeMaxFileSize(): Promise<number> {
    const file = path.join(this.root, `.probe-${process.pid}`);
    const fd = await openFile(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    try {
      const fits = (n: number) => ftruncate(fd, n).then(() => true, () => false);
      if (await fits(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
      let lo = 0;
      let hi = Number.MAX_SAFE_INTEGER;
      while (hi - lo > 1) {
        const mid = Math.floor(lo + (hi - lo) / 2);
        if (await fits(mid)) lo = mid;
        else hi = mid;
      }
      return lo;
    } finally {
      await closeFd(fd);
      await fs.promises.unlink(file).catch(() => undefined);
    }
  }

  private shardOf(ino: number): number {
    return shardOf(ino, this.layout);
  }

  private shardDir(shard: number): string {
    return path.join(this.root, shard.toString(16).padStart(2, '0'));
  }

  private async withExisting(ino: number, fn: (fd: number) => Promise<unknown>): Promise<void> {
    try {
      await this.fds.use(ino, false, fn);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  private async openData(ino: number, create: boolean): Promise<number> {
    // A prepared file is empty and its name already durable: nothing to trim, no directory sync.
    const prepared = await this.pool?.take(ino);
    if (typeof prepared === 'number') return prepared;
    const file = this.pathOf(ino);
    // A new number the pool had not made yet: whatever a file there holds is stale.
    if (prepared === MAKE_IT) return this.createData(ino, file, fs.constants.O_TRUNC);
    try {
      const fd = await openFile(file, fs.constants.O_RDWR);
      await this.trimToLogicalSize(ino, fd);
      return fd;
    } catch (err) {
      if (!create || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return this.createData(ino, file, 0);
  }

  /** Creates the data file here; sync() fsyncs its directory before the name counts as durable. */
  private async createData(ino: number, file: string, extraFlags: number): Promise<number> {
    const fd = await openFile(file, fs.constants.O_RDWR | fs.constants.O_CREAT | extraFlags, 0o600);
    this.newFiles.add(ino);
    return fd;
  }

  private async trimToLogicalSize(ino: number, fd: number): Promise<void> {
    const size = this.opts.logicalSize(ino);
    if (size === undefined) return;
    try {
      const st = await fstat(fd);
      if (st.size > size) {
        await ftruncate(fd, size);
        await fdatasync(fd);
      }
    } catch (err) {
      await closeFd(fd).catch(() => undefined);
      throw err;
    }
  }

  private async beforeClose(ino: number, fd: number, evicted: boolean): Promise<void> {
    // An evicted descriptor of a file with unsynced writes is synced first: a write-back
    // error is reported to descriptors open at the time, so it must be collected now and
    // handed to the next COMMIT rather than lost.
    const p = this.progress.get(ino);
    if (!evicted || !p || p.written <= p.synced) return;
    try {
      await this.syncFd(ino, p, async (fn) => {
        await fn(fd);
      });
    } catch (err) {
      this.failed.set(ino, err);
    }
  }
}
