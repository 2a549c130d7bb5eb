// A bounded LRU of open data-file descriptors, so that a stream of 1 MiB WRITEs or READs to a
// file does not open and close it each time. Entries in use are reference-counted and never
// closed under a caller; eviction closes the least recently used idle descriptors.
import fs from 'node:fs';
import { promisify } from 'node:util';

const closeFd = promisify(fs.close);

interface Entry {
  fd?: number;
  opening?: Promise<number>;
  refs: number;
  /** Set when the file is dropped while in use: close on last release. */
  dropped: boolean;
}

export interface FdCacheHooks {
  /** Opens the descriptor for `key`; may throw (e.g. ENOENT when not creating). */
  open(key: number, create: boolean): Promise<number>;
  /** Called before an evicted or dropped descriptor is closed (e.g. to fdatasync it). */
  beforeClose(key: number, fd: number, evicted: boolean): Promise<void>;
}

export class FdCache {
  private readonly entries = new Map<number, Entry>();

  constructor(
    private readonly hooks: FdCacheHooks,
    private readonly max = 512,
  ) {}

  get openCount(): number {
    return this.entries.size;
  }

  /** Runs `fn` with an open descriptor for `key`, which stays open until `fn` settles. */
  async use<T>(key: number, create: boolean, fn: (fd: number) => Promise<T>): Promise<T> {
    let e = this.entries.get(key);
    if (e && !e.dropped) {
      // Move to the most-recently-used end.
      this.entries.delete(key);
      this.entries.set(key, e);
    } else {
      e = { refs: 0, dropped: false };
      this.entries.set(key, e);
    }
    const entry = e;
    entry.refs++;
    try {
      const fd = entry.fd ?? (await this.opened(key, entry, create));
      return await fn(fd);
    } finally {
      this.release(key, entry);
      this.evict();
    }
  }

  private opened(key: number, entry: Entry, create: boolean): Promise<number> {
    if (!entry.opening) {
      entry.opening = this.hooks.open(key, create).then(
        (fd) => (entry.fd = fd),
        (err) => {
          entry.opening = undefined;
          throw err;
        },
      );
    }
    return entry.opening;
  }

  private release(key: number, e: Entry): void {
    e.refs--;
    if (e.refs > 0) return;
    if (e.fd === undefined || e.dropped) {
      if (this.entries.get(key) === e) this.entries.delete(key);
      if (e.fd !== undefined) void this.closeEntry(key, e.fd, false);
    }
  }

  /**
   * Forgets `key` (file deleted): closes now, or on the last release if in use. Resolves once
   * an idle descriptor is closed, so that a caller unlinking the file afterwards frees its
   * space at once (an open file keeps its blocks).
   */
  async drop(key: number): Promise<void> {
    const e = this.entries.get(key);
    if (!e) return;
    if (e.refs === 0) {
      this.entries.delete(key);
      if (e.fd !== undefined) await this.closeEntry(key, e.fd, false);
    } else {
      e.dropped = true;
    }
  }

  async closeAll(): Promise<void> {
    const all = Array.from(this.entries.entries());
    this.entries.clear();
    await Promise.all(all.map(([key, e]) => (e.fd !== undefined ? this.closeEntry(key, e.fd, false) : undefined)));
  }

  private evict(): void {
    if (this.entries.size <= this.max) return;
    for (const [key, e] of this.entries) {
      if (this.entries.size <= this.max) break;
      if (e.refs > 0 || e.fd === undefined) continue;
      this.entries.delete(key);
      void this.closeEntry(key, e.fd, true);
    }
  }

  private async closeEntry(key: number, fd: number, evicted: boolean): Promise<void> {
    try {
      await this.hooks.beforeClose(key, fd, evicted);
    } finally {
      await closeFd(fd).catch(() => undefined);
    }
  }
}
