// LRU eviction of clean cached file data in a linked cache. When the bytes held by regular files
// pass the cache size, whole files are dropped, least recently read or written first: their data
// file is cut to zero and every block becomes remote-backed again (backLen = size). Only files
// whose content is exactly their object's are candidates: uploaded (not pending), nothing
// written since, key and ETag known; dirty data is never evicted.
import type { FsCore } from './core';
import type { LinkContext } from './link-context';

const CHECK_INTERVAL_MS = 2000;

export class Evictor {
  /** Insertion order = recency: touched files move to the end. */
  private readonly recent = new Map<number, true>();
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> | undefined;
  private seeded = false;
  evictedFiles = 0;
  evictedBytes = 0;

  constructor(
    private readonly core: FsCore,
    private readonly link: LinkContext,
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

  private async evict(ino: number): Promise<void> {
    if (!this.clean(ino)) return;
    await this.core.states.get(ino).lock.exclusive(async () => {
      if (!this.clean(ino)) return;
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
    });
  }
}
