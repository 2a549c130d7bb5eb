// The files of the metadata redo log: a small pool of preallocated segments under meta/wal/,
// named seg-N.wal. Names are only handles; the order of a segment's records comes from the
// segNo in its header (format.ts), so a segment is recycled by rewriting its header, with
// no rename that a power cut could half undo.
//
// Segments are filled with zeros when created (written, not fallocated): overwriting blocks
// that are already allocated and written needs no file-system metadata change, so each log
// fdatasync is one data write plus a cache flush (~130 µs here), not a journal commit (~220 µs
// for an append, more for unwritten extents).
import fs from 'node:fs';
import path from 'node:path';
import { syncDir, syncDirSync } from '../../util/dir-sync';
import { decodeSegmentHeader, SEGMENT_HEADER_BYTES, type SegmentHeader } from './format';

export interface Segment {
  file: string;
  fd: number;
  size: number;
  /** Header of the current activation; undefined: free and never activated since invalidation. */
  header?: SegmentHeader;
  /** Where the next record goes (while active). */
  writeAt: number;
  /** Highest seq written here in this activation; 0: holds nothing that is still needed. */
  maxSeq: number;
}

const NAME = /^seg-(\d+)\.wal$/;
const ZEROS = Buffer.alloc(1024 * 1024);

export class SegmentPool {
  readonly segments: Segment[] = [];
  private creating?: Promise<void>;

  private constructor(
    readonly dir: string,
    readonly segmentBytes: number,
  ) {}

  /** Opens every segment file in `dir` (created if missing). Start-up only: synchronous. */
  static openSync(dir: string, segmentBytes: number): SegmentPool {
    fs.mkdirSync(dir, { recursive: true });
    const pool = new SegmentPool(dir, segmentBytes);
    const names = fs.readdirSync(dir).filter((n) => NAME.test(n));
    names.sort((a, b) => Number(NAME.exec(a)![1]) - Number(NAME.exec(b)![1]));
    for (const name of names) {
      const file = path.join(dir, name);
      const fd = fs.openSync(file, 'r+');
      const size = fs.fstatSync(fd).size;
      if (size <= SEGMENT_HEADER_BYTES) {
        // A creation a crash cut short: not usable, never held records.
        fs.closeSync(fd);
        fs.unlinkSync(file);
        continue;
      }
      const head = Buffer.alloc(SEGMENT_HEADER_BYTES);
      fs.readSync(fd, head, 0, head.length, 0);
      pool.segments.push({ file, fd, size, header: decodeSegmentHeader(head), writeAt: SEGMENT_HEADER_BYTES, maxSeq: 0 });
    }
    return pool;
  }

  /** The whole file (recovery reads each segment once). */
  readAllSync(seg: Segment): Buffer {
    const buf = Buffer.alloc(seg.size);
    let at = 0;
    while (at < seg.size) {
      const n = fs.readSync(seg.fd, buf, at, seg.size - at, at);
      if (n === 0) break;
      at += n;
    }
    return buf.subarray(0, at);
  }

  /**
   * Makes `seg` free: its header is zeroed and synced, so none of its records can be replayed
   * again. Done to every segment once recovery has checkpointed what they held.
   */
  invalidateSync(seg: Segment): void {
    fs.writeSync(seg.fd, ZEROS, 0, SEGMENT_HEADER_BYTES, 0);
    fs.fdatasyncSync(seg.fd);
    seg.header = undefined;
    seg.maxSeq = 0;
    seg.writeAt = SEGMENT_HEADER_BYTES;
  }

  /** A segment that is not `except` and holds nothing newer than `durableSeq`. */
  free(durableSeq: number, except?: Segment): Segment | undefined {
    return this.segments.find((s) => s !== except && s.maxSeq <= durableSeq);
  }

  countFree(durableSeq: number, except?: Segment): number {
    return this.segments.filter((s) => s !== except && s.maxSeq <= durableSeq).length;
  }

  /** Adds a zero-filled segment now (start-up). Returns false if the disk has no room for it. */
  addSync(): boolean {
    const file = this.nextFile();
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, 'wx+');
      for (let at = 0; at < this.segmentBytes; at += ZEROS.length) {
        fs.writeSync(fd, ZEROS, 0, Math.min(ZEROS.length, this.segmentBytes - at), at);
      }
      fs.fdatasyncSync(fd);
      syncDirSync(this.dir);
    } catch (err) {
      if (fd !== undefined) fs.closeSync(fd);
      fs.rmSync(file, { force: true });
      if (isNoSpace(err)) return false;
      throw err;
    }
    this.segments.push({ file, fd, size: this.segmentBytes, writeAt: SEGMENT_HEADER_BYTES, maxSeq: 0 });
    return true;
  }

  /**
   * Adds a zero-filled segment in the background (one at a time). A full disk is not an error:
   * the log then lives with the segments it has, freed by checkpoints.
   */
  addInBackground(onError: (err: unknown) => void): void {
    if (this.creating || !this.roomForAnother()) return;
    const file = this.nextFile();
    this.creating = (async () => {
      const h = await fs.promises.open(file, 'wx+');
      let fd: number;
      try {
        for (let at = 0; at < this.segmentBytes; at += ZEROS.length) {
          await h.write(ZEROS, 0, Math.min(ZEROS.length, this.segmentBytes - at), at);
        }
        await h.datasync();
        await syncDir(this.dir);
        // The fd outlives the FileHandle wrapper only if we take a plain descriptor: reopen.
        fd = fs.openSync(file, 'r+');
      } catch (err) {
        await fs.promises.rm(file, { force: true });
        throw err;
      } finally {
        // Whatever failed (the reopen too: the file can be gone), the handle is not left to
        // the garbage collector.
        await h.close().catch(() => undefined);
      }
      this.segments.push({ file, fd, size: this.segmentBytes, writeAt: SEGMENT_HEADER_BYTES, maxSeq: 0 });
    })()
      .catch((err: unknown) => {
        if (!isNoSpace(err)) onError(err);
      })
      .finally(() => {
        this.creating = undefined;
      });
  }

  /**
   * The log never takes the last 5 % of its disk (nor less than 16 segments' worth): a spare
   * segment is a convenience, the space may be what file data and LMDB need.
   */
  private roomForAnother(): boolean {
    try {
      const st = fs.statfsSync(this.dir);
      return st.bavail * st.bsize > Math.max(16 * this.segmentBytes, 0.05 * st.blocks * st.bsize) + this.segmentBytes;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.creating;
    for (const s of this.segments) fs.closeSync(s.fd);
    this.segments.length = 0;
  }

  private nextFile(): string {
    const used = new Set(this.segments.map((s) => path.basename(s.file)));
    for (let i = 0; ; i++) if (!used.has(`seg-${i}.wal`)) return path.join(this.dir, `seg-${i}.wal`);
  }
}

export function isNoSpace(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
