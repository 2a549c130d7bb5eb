// Space accounting: the bytes allocated by regular files (st_blocks * 512 of their data files)
// against an optional capacity (the PVC size), and FSSTAT numbers from the cache disk itself.
import fs from 'node:fs';
import { FsError, fromSystemError, type FsStat } from '../vfs';
import type { InodeTable } from './inode-table';

/** Metadata bytes an inode costs (LMDB record, entry and cookie), for the free-files estimate. */
const BYTES_PER_INODE = 512;

export class Capacity {
  private reserved = 0;

  constructor(
    private readonly inodes: InodeTable,
    readonly capacityBytes?: number,
  ) {}

  /**
   * Reserves room for a write about to grow allocation by `bytes`; ENOSPC if that would pass
   * the capacity. Reservations of concurrent writes add up, so together they cannot overshoot.
   */
  reserve(bytes: number): () => void {
    if (bytes <= 0) return () => undefined;
    if (this.capacityBytes !== undefined && this.inodes.memoryUsed + this.reserved + bytes > this.capacityBytes) {
      throw new FsError('ENOSPC', `capacity of ${this.capacityBytes} bytes reached`);
    }
    this.reserved += bytes;
    let released = false;
    return () => {
      if (!released) this.reserved -= bytes;
      released = true;
    };
  }

  async fsstat(dir: string, inodeCount: number, maxInodes?: number): Promise<FsStat> {
    let s: fs.StatsFs;
    try {
      s = await fs.promises.statfs(dir);
    } catch (err) {
      throw fromSystemError(err, 'statfs of the cache directory');
    }
    const diskTotal = s.blocks * s.bsize;
    const diskFree = s.bfree * s.bsize;
    const diskAvail = s.bavail * s.bsize;
    let totalBytes = diskTotal;
    let freeBytes = diskFree;
    let availableBytes = diskAvail;
    if (this.capacityBytes !== undefined) {
      const left = Math.max(0, this.capacityBytes - this.inodes.memoryUsed);
      totalBytes = this.capacityBytes;
      freeBytes = Math.min(left, diskFree);
      availableBytes = Math.min(left, diskAvail);
    }
    let freeFiles: number;
    let totalFiles: number;
    if (maxInodes !== undefined) {
      freeFiles = Math.max(0, maxInodes - inodeCount);
      totalFiles = maxInodes;
    } else {
      // Each new inode needs metadata space, and a regular file one local inode for its data.
      freeFiles = Math.min(s.ffree, Math.floor(availableBytes / BYTES_PER_INODE));
      totalFiles = inodeCount + freeFiles;
    }
    return { totalBytes, freeBytes, availableBytes, totalFiles, freeFiles, availableFiles: freeFiles };
  }
}
