// Attributes of imported objects that a listing could not read: past the source's HEAD limit
// (1,000 per listing), entries are created with the listing's size and LastModified and the
// volume's defaults, marked RemoteState.attributesPending. This module reads their metadata
// (RemoteSource.describe, a HEAD) in background batches, and at once for an entry a client
// asks about first: LOOKUP of its name and GETATTR of its handle wait for it (two hooks in
// filesystem.ts), so clients see the real mode/uid/gid/mtime. READDIRPLUS may show the defaults
// of an entry not read yet (the client's GETATTR after its attribute timeout gets the real ones).
//
// The pending set is in memory: after a restart, the flags in LMDB make the directory's next
// listing HEAD those entries again (up to the limit), and the rest are queued here from it.
import { describeError } from '../../log/logger';
import type { FsCore } from '../core/core';
import { findEntry } from '../meta/directory';
import type { InodeRecord } from '../meta/inode';
import type { LinkView } from './link-view';
import type { Mutation } from '../meta/mutation';
import type { RemoteEntry } from './remote';

/** Entries read per batch (one transaction applies them). */
const BATCH = 64;
/** HEADs in flight per batch, and batches at once. */
const HEAD_CONCURRENCY = 16;
const BATCHES = 2;

interface Described {
  ino: number;
  key: string;
  etag: string | undefined;
  entry: RemoteEntry | undefined;
}

/** True if `e` (described) says nothing different from `rec` (mtime in whole seconds counts as equal). */
export function sameAttributes(rec: InodeRecord, e: RemoteEntry): boolean {
  return (
    (e.mode === undefined || e.mode === rec.mode) &&
    (e.uid === undefined || e.uid === rec.uid) &&
    (e.gid === undefined || e.gid === rec.gid) &&
    e.mtime.sec === rec.mtime.sec &&
    (e.mtime.nsec === 0 || e.mtime.nsec === rec.mtime.nsec)
  );
}

/**
 * Inside a transaction: the bucket's mode/owner/mtime for an object whose content is unchanged
 * (or a directory marker). Recorded as synced: nothing is queued for upload.
 */
export function applyAttributes(m: Mutation, rec: InodeRecord, e: RemoteEntry, now: number): void {
  if (e.mode !== undefined) rec.mode = e.mode;
  if (e.uid !== undefined) rec.uid = e.uid;
  if (e.gid !== undefined) rec.gid = e.gid;
  rec.mtime = e.mtime;
  rec.ctime = m.now;
  rec.metaVersion++;
  m.save(rec, 'metadata');
  const rs = m.store.remote.get(rec.ino)!;
  m.store.remote.putSync(rec.ino, {
    ...rs,
    etag: e.etag ?? rs.etag,
    modifiedMs: e.modifiedMs ?? rs.modifiedMs,
    attributesPending: undefined,
    syncedMeta: rec.metaVersion,
    syncedAt: now,
  });
}

export class AttributeReader {
  /** Inodes whose attributes are to be read (queued or being read). */
  private readonly pending = new Set<number>();
  private readonly order: number[] = [];
  private readonly running = new Map<number, Promise<void>>();
  private batches = 0;
  /** HEADs sent (for tests and metrics). */
  reads = 0;

  constructor(
    private readonly core: FsCore,
    private readonly link: LinkView,
  ) {}

  /** Reads these inodes' attributes in the background. */
  queue(inos: number[]): void {
    if (!this.link.source.describe) return;
    for (const ino of inos) {
      if (this.pending.has(ino)) continue;
      this.pending.add(ino);
      this.order.push(ino);
    }
    this.pump();
  }

  /** Undefined if the attributes of `ino` are not pending (the common case: no promise, no await). */
  wait(ino: number): Promise<void> | undefined {
    if (this.pending.size === 0 || !this.pending.has(ino)) return undefined;
    return this.running.get(ino) ?? this.run([ino]);
  }

  /** Before LOOKUP answers for `name` in `dir`: its attributes are read if pending. */
  async beforeLookup(dir: number, name: string): Promise<void> {
    if (this.pending.size === 0) return;
    const entry = findEntry(this.core.store, dir, name);
    const reading = entry && this.wait(entry.ino);
    if (!reading) return;
    await reading;
    // The object turned out to be of another type (a symlink listed as a file): listed again.
    await this.link.importer.ensureListed(dir);
  }

  forget(ino: number): void {
    this.pending.delete(ino);
  }

  private pump(): void {
    while (this.batches < BATCHES && this.order.length > 0) {
      const batch: number[] = [];
      while (batch.length < BATCH && this.order.length > 0) {
        const ino = this.order.shift()!;
        if (this.pending.has(ino) && !this.running.has(ino)) batch.push(ino);
      }
      if (batch.length > 0) void this.run(batch);
    }
  }

  private run(inos: number[]): Promise<void> {
    this.batches++;
    const p = this.readAndApply(inos)
      .catch((err: unknown) => void this.core.log.warn("reading attributes from the bucket failed; they stay the listing's for now", { err: describeError(err) }))
      .finally(() => {
        for (const ino of inos) {
          this.running.delete(ino);
          this.pending.delete(ino);
        }
        this.batches--;
        this.pump();
      });
    for (const ino of inos) this.running.set(ino, p);
    return p;
  }

  private async readAndApply(inos: number[]): Promise<void> {
    const results: Described[] = [];
    const todo = [...inos];
    const worker = async () => {
      for (let ino = todo.shift(); ino !== undefined; ino = todo.shift()) {
        const rs = this.link.remoteOf(ino);
        if (!rs?.attributesPending || rs.key === undefined) continue;
        this.reads++;
        const entry = await this.link.source.describe!(rs.key);
        results.push({ ino, key: rs.key, etag: rs.etag, entry });
      }
    };
    await Promise.all(Array.from({ length: Math.min(HEAD_CONCURRENCY, inos.length) }, worker));
    const stale: number[] = [];
    await this.core.mutate((m) => {
      const now = this.link.nowMs();
      for (const r of results) {
        const rec = m.find(r.ino);
        const rs = m.store.remote.get(r.ino);
        if (!rec || !rs?.attributesPending || rs.key !== r.key || rs.etag !== r.etag) continue;
        const local = m.store.pending.get(r.ino) !== undefined || this.link.uploads.has(r.ino);
        const e = r.entry;
        if (local || (rec.type === 'dir' && e?.type === 'dir' && e.etag === undefined)) {
          // Local changes win; an implicit directory has no metadata to read.
          m.store.remote.putSync(r.ino, { ...rs, attributesPending: undefined });
        } else if (!e || (rec.type !== 'dir' && e.etag !== rs.etag) || e.type !== rec.type || (e.type === 'symlink' && e.target !== rec.target)) {
          stale.push(r.ino); // gone, changed, or of another type: the next listing sorts it out
        } else {
          applyAttributes(m, rec, { ...e, modifiedMs: undefined }, now);
        }
      }
    }, { quiet: true });
    await Promise.all(stale.map((ino) => this.link.importer.markStale(ino)));
  }
}
