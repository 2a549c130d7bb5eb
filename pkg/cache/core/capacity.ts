// Space accounting: the bytes allocated by regular files (st_blocks * 512 of their data files)
// against an optional capacity (the PVC size), and FSSTAT numbers from the cache disk itself.
import fs from 'node:fs';
import { FsError, fromSystemError, type FsStat } from '../../vfs';
import type { InodeTable } from '../meta/inode-table';

/** Metadata bytes an inode costs (LMDB record, entry and cookie), for the free-files estimate. */
const BYTES_PER_INODE = 512;
/** How long a statfs answer is trusted while the disk is far from full. */
const STATFS_TTL_MS = 1000;
const MiB = 1024 * 1024;

/**
 * Space on the cache disk kept for metadata: file data may not use it, so that when data has
 * filled the disk, REMOVE, RENAME and the like (which need a few LMDB pages) still work and
 * space can be freed. 1% of the disk, at least 1 MiB, at most 256 MiB.
 */
export function metadataReserve(diskBytes: number): number {
  return Math.min(256 * MiB, Math.max(MiB, Math.floor(diskBytes / 100)));
}

export class Capacity {
  private reserved = 0;
  private disk = { avail: 0, reserve: 0, checkedAt: -Infinity, spent: 0 };

  constructor(
    private readonly dir: string,
    private readonly inodes: InodeTable,
    readonly capacityBytes?: number,
    /**
     * Unlinks the data files of removed files now and waits for them (core.ts frees them after
     * the reply), all but `except`'s.
     */
    private readonly settleFrees: (except?: number) => Promise<void> = async () => undefined,
  ) {}

  /**
   * ENOSPC if writing `bytes` more would eat into the metadata reserve of the cache disk.
   * statfs is asked at most once a second while there is plenty of room, on every call near
   * the limit. `ino`: the file the bytes go to, whose file lock the caller holds.
   */
  async admitOnDisk(bytes: number, ino?: number): Promise<void> {
    if (bytes <= 0) return;
    const d = this.disk;
    const fresh = performance.now() - d.checkedAt < STATFS_TTL_MS;
    if (!fresh || d.avail - d.spent - bytes < d.reserve + 64 * MiB) await this.refreshDisk();
    if (this.disk.avail - this.disk.spent - bytes < this.disk.reserve) {
      // Space of files removed just before may still be on its way back. Not the caller's own
      // file's: if it was removed meanwhile, its unlink waits for the lock the caller holds.
      await this.settleFrees(ino);
      await this.refreshDisk();
      if (this.disk.avail - bytes < this.disk.reserve) throw new FsError('ENOSPC', 'the cache disk is full');
    }
    this.disk.spent += bytes;
  }

  private async refreshDisk(): Promise<void> {
    const s = await this.statfs();
    this.disk = { avail: s.bavail * s.bsize, reserve: metadataReserve(s.blocks * s.bsize), checkedAt: performance.now(), spent: 0 };
  }

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

  async fsstat(inodeCount: number, maxInodes?: number): Promise<FsStat> {
    const s = await this.statfs();
    const diskTotal = s.blocks * s.bsize;
    const reserve = metadataReserve(diskTotal);
    const diskFree = Math.max(0, s.bfree * s.bsize - reserve);
    const diskAvail = Math.max(0, s.bavail * s.bsize - reserve);
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

  private async statfs(): Promise<fs.StatsFs> {
    try {
      return await fs.promises.statfs(this.dir);
    } catch (err) {
      throw fromSystemError(err, 'statfs of the cache directory');
    }
  }
}
