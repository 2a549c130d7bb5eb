// LRU eviction of clean cached file data in a linked cache. When the bytes held by regular files
// pass the cache size, whole files are dropped, least recently read or written first: their data
// file is cut to zero and every block becomes remote-backed again (backLen = size). Only files
// whose content is exactly their object's are candidates: uploaded (not pending), nothing
// written since, key and ETag known; dirty data is never evicted.
// A cache disk that is full before the cache size is reached (a disk smaller than the cache
// size, or shared) is relieved the same way when a fetch finds no room (relieve()): reads are
// served straight from the bucket meanwhile, and cached again once clean files have made room.
import fs from 'node:fs';
import { describeError } from '../../log/logger';
import { metadataReserve } from '../core/capacity';
import type { FsCore } from '../core/core';
import type { LinkView } from './link-view';

const CHECK_INTERVAL_MS = 2000;
/** Room a full disk is relieved to, beyond its metadata reserve: this share of the disk... */
const RELIEF_SHARE = 0.1;
/** ...but no more than this. */
const RELIEF_MAX_BYTES = 1024 * 1024 * 1024;
/** After a relief that found nothing clean to evict, the next waits this long. */
const RELIEF_IDLE_MS = 1000;

export class Evictor {
  /** Insertion order = recency: touched files move to the end. */
  private readonly recent = new Map<number, true>();
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> | undefined;
  private relieving: Promise<void> | undefined;
  private reliefIdleUntil = 0;
  private seeded = false;
  evictedFiles = 0;
  evictedBytes = 0;

  constructor(
    private readonly core: FsCore,
    private readonly link: LinkView,
  ) {
    this.timer = setInterval(() => void this.maybeEvict(), CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  touch(ino: number): void {
    this.recent.delete(ino);
    this.recent.set(ino, true);
    if (this.core.inodes.memoryUsed > this.link.cacheSizeBytes) void this.maybeEvict();
  }

  forget(ino: number): void {
    this.recent.delete(ino);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Evicts until the cached bytes are under the limit (or nothing more can go). */
  maybeEvict(): Promise<void> {
    if (this.core.inodes.memoryUsed <= this.link.cacheSizeBytes) return Promise.resolve();
    this.running ??= this.evictDown().finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * The cache disk is full: clean files are evicted in the background, least recent first,
   * until the disk has room again or nothing clean is left. Never awaited by a reader (a reader
   * holds its file's lock; eviction takes others' exclusively).
   */
  relieve(): Promise<void> {
    this.relieving ??= this.relieveNow()
      .catch((err: unknown) => void this.core.log.warn('could not make room on the full cache disk', { err: describeError(err) }))
      .finally(() => (this.relieving = undefined));
    return this.relieving;
  }

  private async relieveNow(): Promise<void> {
    // Nothing to evict a moment ago: every failing fetch need not scan again.
    if (performance.now() < this.reliefIdleUntil || (await this.hasRoom())) return;
    if (!this.seeded) this.seed();
    let freed = 0;
    for (const ino of Array.from(this.recent.keys())) {
      const bytes = await this.evict(ino); // throws if even the metadata cannot be written: stop
      freed += bytes;
      if (bytes > 0 && (await this.hasRoom())) break;
    }
    if (freed === 0) this.reliefIdleUntil = performance.now() + RELIEF_IDLE_MS;
    else this.core.log.info('cache disk full: evicted clean cached data', { bytes: freed });
  }

  private async hasRoom(): Promise<boolean> {
    const s = await fs.promises.statfs(this.core.dir);
    const disk = s.blocks * s.bsize;
    return s.bavail * s.bsize - metadataReserve(disk) >= Math.min(RELIEF_MAX_BYTES, disk * RELIEF_SHARE);
  }

  private async evictDown(): Promise<void> {
    if (!this.seeded) this.seed();
    for (const ino of Array.from(this.recent.keys())) {
      if (this.core.inodes.memoryUsed <= this.link.cacheSizeBytes) return;
      try {
        await this.evict(ino);
      } catch (err) {
        this.core.log.warn('eviction failed', { ino, err: String(err) });
      }
    }
  }

  /** Files with cached data from before this process started are the least recent. */
  private seed(): void {
    this.seeded = true;
    const known = Array.from(this.recent.keys());
    this.recent.clear();
    for (const { key, value } of this.core.store.inodes.getRange({})) {
      if (value.type === 'file' && value.used > 0 && !known.includes(key)) this.recent.set(key, true);
    }
    for (const ino of known) this.recent.set(ino, true);
  }

  /** True if `ino` holds exactly its object's bytes. */
  private clean(ino: number): boolean {
    const rec = this.core.inodes.get(ino);
    const rs = this.link.remoteOf(ino);
    if (!rec || rec.type !== 'file' || !rs || rs.key === undefined || rs.etag === undefined) return false;
    if (this.core.store.pending.get(ino) !== undefined || this.link.uploads.has(ino)) return false;
    if (rs.syncedData !== rec.dataVersion || rs.size !== rec.size) return false;
    if (this.core.states.peek(ino)?.marking || this.core.data.needsSync(ino)) return false;
    const map = this.link.blocks.get(ino);
    return !map.anyDirty(0, Math.ceil(rec.size / this.link.blockSize) + 1);
  }

  /** Evicts `ino` if it is clean; returns the bytes freed. */
  private async evict(ino: number): Promise<number> {
    if (!this.clean(ino)) return 0;
    return this.core.states.get(ino).lock.exclusive(async () => {
      if (!this.clean(ino)) return 0;
      const rec = this.core.inodes.get(ino)!;
      const before = rec.used;
      // Remote-backed first (durable), then the data file goes: a crash in between leaves
      // stale bytes that nothing vouches for, never presence without data.
      await this.core.mutate((m) => {
        const rs = m.store.remote.get(ino);
        if (!rs) return;
        m.store.remote.putSync(ino, { ...rs, backLen: rec.size });
        this.link.blocks.dropPresence(ino);
        this.link.blocks.saveInTxn(m, ino);
      }, { quiet: true });
      await this.core.data.truncate(ino, 0);
      this.core.inodes.update(ino, (r) => (r.used = 0));
      this.recent.delete(ino);
      this.evictedFiles++;
      this.evictedBytes += before;
      return before;
    });
  }
}
