// The shared state of one cache file system and the helpers every operation uses: reading
// records, running metadata mutations, the dirty marks of files being written, lazy
// persistence of in-memory attributes, and change notifications for the reconciler.
import { EventEmitter } from 'node:events';
import { FsError, fromSystemError, type Attributes, type Timestamp } from '../../vfs';
import type { Logger } from '../../log/logger';
import { Capacity } from './capacity';
import { DeferredFrees } from '../data/deferred-frees';
import { relatimeDue, type Clock } from '../util/clock';
import type { DataStore } from '../data/data-store';
import { FileStates, type FileState } from './file-state';
import { toAttributes, type InodeRecord } from '../meta/inode';
import { InodeTable } from '../meta/inode-table';
import type { MetadataStore } from '../meta/metadata-store';
import { queueIfShared, runMutation, type ChangeKind, type Mutation, type MutationDeps, type MutationOptions } from '../meta/mutation';
import type { LinkedPart } from './linked-part';

export type ChangeListener = (ino: number, kind: ChangeKind) => void;

/**
 * Files written 'unstable' and then left alone this long are fdatasynced by the periodic
 * flush (as the kernel's dirty_expire would), so their dirty marks can go and a crash has
 * less to reconcile.
 */
const QUIET_SYNC_MS = 30_000;

export interface CoreParts {
  dir: string;
  store: MetadataStore;
  data: DataStore;
  inodes: InodeTable;
  clock: Clock;
  log: Logger;
  maxFileSize: number;
  capacityBytes?: number;
  maxInodes?: number;
  linked?: boolean;
}

export class FsCore {
  readonly dir: string;
  readonly store: MetadataStore;
  readonly data: DataStore;
  readonly inodes: InodeTable;
  readonly clock: Clock;
  readonly log: Logger;
  readonly maxFileSize: number;
  readonly maxInodes?: number;
  readonly capacity: Capacity;
  readonly states = new FileStates();
  /** Set when the file system is linked to a bucket (import, fetch, upload bookkeeping). */
  link: LinkedPart | undefined;
  private readonly events = new EventEmitter();
  private readonly deps: MutationDeps;
  /** Data files unlinked whose orphan marks can go (removed with the next flush). */
  private readonly unlinkedOrphans = new Set<number>();
  /** Freed inodes whose data files are still to be unlinked (see mutate). */
  private readonly frees = new DeferredFrees((ino) =>
    this.freeData(ino).catch((err: unknown) => {
      this.log.warn('could not free data of an inode', { ino, err: String(err) });
    }),
  );
  private flushing: Promise<void> | undefined;

  constructor(parts: CoreParts) {
    this.dir = parts.dir;
    this.store = parts.store;
    this.data = parts.data;
    this.inodes = parts.inodes;
    this.clock = parts.clock;
    this.log = parts.log;
    this.maxFileSize = parts.maxFileSize;
    this.maxInodes = parts.maxInodes;
    this.capacity = new Capacity(parts.dir, parts.inodes, parts.capacityBytes, (except) => this.settleFrees(except));
    this.deps = { store: parts.store, inodes: parts.inodes, clock: parts.clock, maxInodes: parts.maxInodes, linked: parts.linked };
    this.events.setMaxListeners(0);
    // The store is open and recovered: records change only through the inode table now.
    parts.inodes.cacheCommitted();
  }

  now(): Timestamp {
    return this.clock();
  }

  /** The newest record of `ino`; ESTALE if it does not exist (or has another generation). */
  record(ino: number, generation?: number): InodeRecord {
    const rec = this.inodes.get(ino);
    if (!rec || (generation !== undefined && rec.gen !== generation)) {
      throw new FsError('ESTALE', `inode ${ino} is gone`);
    }
    return rec;
  }

  attributes(ino: number): Attributes {
    return toAttributes(this.record(ino));
  }

  /**
   * Runs one atomic, durable metadata operation. The data files of inodes it freed are unlinked
   * later, without the reply waiting (deferred-frees.ts): their orphan marks are durable, so a
   * crash before the unlink still frees them, and inode numbers are never reused.
   */
  async mutate<T>(fn: (m: Mutation) => T, options?: MutationOptions): Promise<T> {
    const { result, mutation } = await runMutation(this.deps, fn, options);
    this.emitAll(mutation.changes);
    for (const ino of mutation.freed) this.frees.add(ino);
    return result;
  }

  /**
   * Unlinks every freed inode's data file now; resolves once all are done but `except`'s (its
   * caller holds that inode's file lock, which the unlink takes).
   */
  async settleFrees(except?: number): Promise<void> {
    await this.frees.settle(except);
  }

  onChange(listener: ChangeListener): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }

  emit(ino: number, kind: ChangeKind): void {
    try {
      this.events.emit('change', ino, kind);
    } catch (err) {
      this.log.warn('change listener failed', { ino, kind, err: String(err) });
    }
  }

  /**
   * In a transaction: the file's dirty mark (recovery.ts) and, linked, its place in the upload
   * queue, which learns of the change in the same transaction.
   */
  putDirtyMark(ino: number): void {
    this.store.dirty.putSync(ino, 1);
    if (this.link) queueIfShared(this.store, ino);
  }

  /**
   * Makes sure the file's durable dirty mark is in LMDB before its data changes, so that a
   * crash after the data file was touched is always noticed on restart (recovery.ts).
   */
  ensureDirtyMark(ino: number, st: FileState): Promise<void> {
    if (!st.marking) {
      const marking = this.store.transact(() => this.putDirtyMark(ino)).then(
        () => undefined,
        (err: unknown) => {
          if (st.marking === marking) st.marking = undefined;
          throw fromSystemError(err, 'recording dirty mark');
        },
      );
      st.marking = marking;
    }
    return st.marking;
  }

  /**
   * Makes the in-memory attributes of `inos` durable in one transaction; `alsoInTxn` runs in
   * the same transaction (e.g. to clear dirty marks whose data is now synced).
   */
  async persist(inos: Iterable<number>, alsoInTxn?: (m: Mutation) => void): Promise<void> {
    const list = Array.from(inos);
    for (let i = 0; i < list.length; i += 64) await Promise.all(list.slice(i, i + 64).map((ino) => this.refreshUsed(ino)));
    const blocks = this.link?.blocks;
    await runMutation(this.deps, (m) => {
      for (const ino of list) {
        this.saveIfDirty(m, ino);
        blocks?.saveInTxn(m, ino);
      }
      alsoInTxn?.(m);
    });
  }

  /** In a transaction: writes the in-memory record of `ino` if it is newer than LMDB's. */
  saveIfDirty(m: Mutation, ino: number): void {
    if (!this.inodes.isDirty(ino)) return;
    const rec = m.find(ino);
    if (rec) m.save(rec, null);
  }

  /**
   * In a transaction: drops the dirty mark of `ino` if all its writes are on disk and its
   * attributes are being saved now. Returns whether it did.
   */
  clearMarkIfSynced(m: Mutation, ino: number): boolean {
    const st = this.states.peek(ino);
    if (!st || !st.marking || st.inflight > 0 || this.data.needsSync(ino)) return false;
    this.saveIfDirty(m, ino);
    m.store.dirty.removeSync(ino);
    st.marking = undefined;
    return true;
  }

  /** relatime: a read updates atime in memory only when due; persisted lazily. */
  touchAtime(ino: number): void {
    const rec = this.inodes.get(ino);
    if (!rec) return;
    const now = this.clock();
    if (relatimeDue(rec.atime, rec.mtime, rec.ctime, now)) this.inodes.update(ino, (r) => (r.atime = now));
  }

  /** Writes everything in memory to LMDB and drops marks of files whose data is synced. */
  flush(): Promise<void> {
    if (!this.flushing) {
      this.flushing = this.flushOnce().finally(() => (this.flushing = undefined));
    }
    return this.flushing;
  }

  /** Syncs every file written since its last commit, then flushes (clean shutdown). */
  async syncAll(): Promise<void> {
    await this.settleFrees();
    await this.flushing;
    for (const [ino, st] of Array.from(this.states.entries())) {
      if (!st.marking && !this.data.needsSync(ino)) continue;
      try {
        await this.data.sync(ino);
      } catch (err) {
        this.log.error('sync of data file failed; its dirty mark is kept', { ino, err: String(err) });
      }
    }
    await this.flush();
  }

  private async flushOnce(): Promise<void> {
    // Only the unlinks under way: the periodic flush must not pull queued ones into a burst.
    await this.frees.settleStarted();
    await this.syncQuietFiles();
    const dirty = this.inodes.dirtyInodes();
    if (this.link) dirty.push(...(await this.link.blockMapsToSave(dirty)));
    const marked = Array.from(this.states.entries())
      .filter(([, st]) => st.marking !== undefined)
      .map(([ino]) => ino);
    const orphans = Array.from(this.unlinkedOrphans);
    if (dirty.length > 0 || marked.length > 0 || orphans.length > 0) {
      await this.persist(dirty, (m) => {
        for (const ino of marked) this.clearMarkIfSynced(m, ino);
        for (const ino of orphans) m.store.orphans.removeSync(ino);
      });
      for (const ino of orphans) this.unlinkedOrphans.delete(ino);
    }
    this.states.prune();
  }

  private async syncQuietFiles(): Promise<void> {
    const now = performance.now();
    for (const [ino, st] of Array.from(this.states.entries())) {
      if (!st.marking || st.inflight > 0 || now - st.lastWrite < QUIET_SYNC_MS || !this.data.needsSync(ino) || this.data.hasFailed(ino)) continue;
      if (!this.inodes.get(ino)) continue; // removed, its data file waits to be unlinked
      try {
        await this.data.sync(ino);
      } catch (err) {
        this.log.error('background sync of a data file failed', { ino, err: String(err) });
      }
    }
  }

  private async refreshUsed(ino: number): Promise<void> {
    const rec = this.inodes.get(ino);
    if (!rec || rec.type !== 'file' || !this.inodes.isDirty(ino)) return;
    try {
      const used = await this.data.allocated(ino);
      if (used !== this.inodes.get(ino)?.used) this.inodes.update(ino, (r) => (r.used = used));
    } catch (err) {
      this.log.warn('could not stat data file', { ino, err: String(err) });
    }
  }

  private async freeData(ino: number): Promise<void> {
    const st = this.states.get(ino);
    await st.lock.exclusive(async () => {
      try {
        await this.data.remove(ino);
        this.unlinkedOrphans.add(ino);
      } catch (err) {
        // The orphan mark stays; the next start retries the unlink.
        this.log.warn('could not unlink data file of freed inode', { ino, err: String(err) });
      }
    });
    st.marking = undefined;
  }

  private emitAll(changes: Array<[number, ChangeKind]>): void {
    if (this.events.listenerCount('change') === 0) return;
    const seen = new Set<string>();
    for (const [ino, kind] of changes) {
      const key = `${ino}:${kind}`;
      if (seen.has(key)) continue;
      seen.add(key);
      this.emit(ino, kind);
    }
  }
}
