// Checkpoints of the metadata database: the record of a moment when LMDB's file was wholly on
// disk, and how to return the file to that moment after a power cut.
//
// LMDB runs with noSync (engine.ts explains why), so a commit writes its new pages and then
// one of the two meta pages (pages 0 and 1 of data.mdb) into the page cache, and a power cut may
// leave any subset of those writes on disk - a meta page pointing at pages that never got there.
// LMDB itself never writes into a page that a live snapshot can still reach: pages are copied
// on write, and a freed page is reused only once no reader's snapshot is older than the
// transaction that freed it. So a checkpoint:
//   1. pins a read snapshot (lmdb-js useReadTransaction) at or before the last commit C,
//   2. copies the two meta pages (their bytes as LMDB last wrote them: C and C-1),
//   3. fdatasyncs data.mdb: every page reachable from C is now on disk and stays untouched while
//      the pin is held,
//   4. writes {meta pages, seq of C, boot id} to a slot of this file and fdatasyncs it; only then
//      is the previous checkpoint's pin released.
// After a reboot (a different boot id) the meta pages are written back from the latest slot
// before LMDB opens: the database is exactly C, whatever else reached the disk, and the redo log
// replays what came after. This is the technique lmdb-js's own overlappingSync uses (a flushed
// meta page, page reuse bounded by the last synced transaction, the boot id deciding which to
// trust: mdb_env_sync / mdb_find_oldest / mdb_pick_meta in its mdb.c), done per checkpoint
// instead of per commit. After a kill -9 on the same boot the page cache kept every write and
// the newest meta page is right.
//
// The file holds two slots of a fixed size, written alternately in place (preallocated, so a
// full disk cannot refuse a checkpoint); each slot has a CRC, the valid one with the higher
// counter wins, so a torn slot write leaves the previous checkpoint in force.
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { syncDirSync } from '../../util/dir-sync';

const MAGIC = Buffer.from('S3FCKPT1', 'latin1');
const HEAD = 128;

export interface Checkpoint {
  /** Increases with every checkpoint written. */
  counter: number;
  /** The walSeq of the checkpointed transaction: log records up to it are no longer needed. */
  seq: number;
  bootId: string;
  /** LMDB page size; `metas` is pages 0 and 1 of data.mdb. */
  psize: number;
  metas: Buffer;
}

/** The kernel's id of this boot: a different one means the machine restarted since. */
export function currentBootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    // Unknown: every open is treated as after a reboot, which is always safe.
    return '';
  }
}

/** Pages 0 and 1 of data.mdb as they are in the page cache now. Call with no commit running. */
export function readMetaPages(dataFd: number, psize: number): Buffer {
  const buf = Buffer.alloc(2 * psize);
  const n = fs.readSync(dataFd, buf, 0, buf.length, 0);
  if (n !== buf.length) throw new Error(`data.mdb is shorter than its two meta pages (${n} bytes)`);
  return buf;
}

/** Returns data.mdb to checkpoint `cp` (before LMDB opens it). */
export function restoreMetaPages(dataFile: string, cp: Checkpoint): void {
  const fd = fs.openSync(dataFile, 'r+');
  try {
    fs.writeSync(fd, cp.metas, 0, cp.metas.length, 0);
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class CheckpointFile {
  private constructor(
    private readonly fd: number,
    private readonly slotBytes: number,
    readonly latest: Checkpoint | undefined,
  ) {}

  /** Reads the latest checkpoint of `file`, if any. */
  static peekSync(file: string): Checkpoint | undefined {
    if (!fs.existsSync(file)) return undefined;
    const buf = fs.readFileSync(file);
    return newest(buf, buf.length >> 1);
  }

  /**
   * Opens `file` for checkpoints of a database with page size `psize`, creating (and
   * preallocating) it if it is missing or sized for another page size.
   */
  static openSync(file: string, psize: number): CheckpointFile {
    const slotBytes = Math.ceil((HEAD + 2 * psize + 4) / 4096) * 4096;
    const existing = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
    if (existing?.length === 2 * slotBytes) {
      return new CheckpointFile(fs.openSync(file, 'r+'), slotBytes, newest(existing, slotBytes));
    }
    const tmp = `${file}.new`;
    const fd = fs.openSync(tmp, 'w+');
    try {
      fs.writeSync(fd, Buffer.alloc(2 * slotBytes), 0, 2 * slotBytes, 0);
      const kept = existing ? newest(existing, existing.length >> 1) : undefined;
      // Carry the last checkpoint over: until a new one is written it is the one in force.
      if (kept) writeSlot(fd, slotBytes, kept);
      fs.fdatasyncSync(fd);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    fs.renameSync(tmp, file);
    syncDirSync(path.dirname(file));
    return new CheckpointFile(fd, slotBytes, existing ? newest(fs.readFileSync(file), slotBytes) : undefined);
  }

  /** Writes `cp` into the slot its counter selects and syncs it (start-up: synchronous). */
  writeSync(cp: Checkpoint): void {
    writeSlot(this.fd, this.slotBytes, cp);
    this.syncSync();
  }

  /** Makes the slots written so far durable. */
  syncSync(): void {
    fs.fdatasyncSync(this.fd);
  }

  /** The slot goes into the page cache at once (overwrite, no allocation); one async sync. */
  async write(cp: Checkpoint): Promise<void> {
    writeSlot(this.fd, this.slotBytes, cp);
    await new Promise<void>((resolve, reject) => fs.fdatasync(this.fd, (e) => (e ? reject(e) : resolve())));
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

function writeSlot(fd: number, slotBytes: number, cp: Checkpoint): void {
  const slot = encodeSlot(slotBytes, cp);
  fs.writeSync(fd, slot, 0, slot.length, (cp.counter & 1) * slotBytes);
}

function encodeSlot(slotBytes: number, cp: Checkpoint): Buffer {
  const b = Buffer.alloc(slotBytes);
  MAGIC.copy(b, 0);
  b.writeUIntLE(cp.counter, 8, 6);
  b.writeUIntLE(cp.seq, 16, 6);
  b.writeUInt32LE(cp.psize, 24);
  const boot = Buffer.from(cp.bootId, 'utf8').subarray(0, 64);
  b.writeUInt16LE(boot.length, 28);
  boot.copy(b, 32);
  cp.metas.copy(b, HEAD);
  b.writeUInt32LE(crc32(b.subarray(0, slotBytes - 4)), slotBytes - 4);
  return b;
}

function decodeSlot(b: Buffer): Checkpoint | undefined {
  if (b.length < HEAD + 4 || !b.subarray(0, 8).equals(MAGIC)) return undefined;
  if (b.readUInt32LE(b.length - 4) !== crc32(b.subarray(0, b.length - 4))) return undefined;
  const psize = b.readUInt32LE(24);
  if (HEAD + 2 * psize + 4 > b.length) return undefined;
  return {
    counter: b.readUIntLE(8, 6),
    seq: b.readUIntLE(16, 6),
    psize,
    bootId: b.subarray(32, 32 + b.readUInt16LE(28)).toString('utf8'),
    metas: Buffer.from(b.subarray(HEAD, HEAD + 2 * psize)),
  };
}

function newest(buf: Buffer, slotBytes: number): Checkpoint | undefined {
  if (slotBytes <= 0) return undefined;
  const a = decodeSlot(buf.subarray(0, slotBytes));
  const b = decodeSlot(buf.subarray(slotBytes, 2 * slotBytes));
  if (!a) return b;
  if (!b) return a;
  return a.counter >= b.counter ? a : b;
}
