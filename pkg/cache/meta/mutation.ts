// One metadata operation as a unit: reads see the newest state (in-memory records first), every
// write goes to LMDB inside the operation's transaction, and the in-memory view is updated only
// once the operation's code has run to the end without throwing. If the commit then fails, the
// in-memory changes are reverted.
import { FsError, fromSystemError, type Timestamp } from '../../vfs';
import type { Clock } from '../util/clock';
import { newInodeRecord, type InodeRecord, type NewInode } from './inode';
import { chargedBytes, type InodeTable } from './inode-table';
import { isLocalOnly } from './local-only';
import type { MetadataStore } from './metadata-store';
import { addTombstone, putRemote, tombstoneStrays, uploadTokenOf } from './remote-state';

export type ChangeKind = 'data' | 'metadata' | 'entries' | 'removed';

export interface MutationDeps {
  store: MetadataStore;
  inodes: InodeTable;
  clock: Clock;
  maxInodes?: number;
  /** Linked to a bucket: changes are queued for upload (pending) and deletions leave tombstones. */
  linked?: boolean;
}

export interface MutationOptions {
  /**
   * A change that comes FROM the bucket (import) or only rearranges what is already there:
   * nothing is queued for upload and nothing leaves a tombstone.
   */
  quiet?: boolean;
}

interface Touched {
  before: InodeRecord | null;
  beforeUsed: number;
  installed?: InodeRecord | null;
}

export class Mutation {
  readonly now: Timestamp;
  /** Regular files freed by this operation whose data files must be unlinked after commit. */
  readonly freed: number[] = [];
  readonly changes: Array<[number, ChangeKind]> = [];
  private readonly current = new Map<number, InodeRecord | null>();
  private readonly touched = new Map<number, Touched>();

  constructor(
    private readonly deps: MutationDeps,
    readonly options: MutationOptions = {},
  ) {
    this.now = deps.clock();
  }

  get store(): MetadataStore {
    return this.deps.store;
  }

  /** A private copy of the newest record, or undefined if the inode does not exist. */
  find(ino: number): InodeRecord | undefined {
    const rec = this.current.has(ino) ? this.current.get(ino) : this.deps.inodes.get(ino);
    return rec ? { ...rec } : undefined;
  }

  /** Like find(), but a missing inode is ESTALE (a handle to something gone). */
  inode(ino: number): InodeRecord {
    const rec = this.find(ino);
    if (!rec) throw new FsError('ESTALE', `inode ${ino} does not exist`);
    return rec;
  }

  save(rec: InodeRecord, kind: ChangeKind | null = 'metadata'): void {
    this.touch(rec.ino);
    const store = this.deps.store;
    store.addCounter('usedBytes', chargedBytes(rec) - this.chargedSoFar(rec.ino));
    store.inodes.putSync(rec.ino, rec);
    this.current.set(rec.ino, rec);
    if (kind) this.changes.push([rec.ino, kind]);
    if (this.deps.linked && !this.options.quiet) this.queueUpload(rec, kind);
  }

  /**
   * Linked: a change the bucket must learn about puts the inode in the persistent upload queue
   * in the same transaction. Directories' entry changes (kind 'entries') are not theirs to
   * upload: each child is queued by its own change. A lazily persisted record (kind null,
   * written by WRITE's later flush) is queued if its data is newer than the last upload.
   */
  private queueUpload(rec: InodeRecord, kind: ChangeKind | null): void {
    const store = this.deps.store;
    if (kind === 'metadata' || kind === 'data') {
      queueIfShared(store, rec.ino);
    } else if (kind === null && rec.type === 'file') {
      const rs = store.remote.get(rec.ino);
      if (!rs || rs.syncedData !== rec.dataVersion) queueIfShared(store, rec.ino);
    }
  }

  /** Frees an inode whose last name is gone. */
  delete(rec: InodeRecord): void {
    this.touch(rec.ino);
    const store = this.deps.store;
    store.addCounter('usedBytes', -this.chargedSoFar(rec.ino));
    store.addCounter('inodeCount', -1);
    store.inodes.removeSync(rec.ino);
    store.dirty.removeSync(rec.ino);
    if (this.deps.linked) this.forgetRemote(rec);
    if (rec.type === 'file') {
      // Unlinked after the commit; recorded so that a crash in between still frees it.
      store.orphans.putSync(rec.ino, 1);
      this.freed.push(rec.ino);
    }
    this.current.set(rec.ino, null);
    this.changes.push([rec.ino, 'removed']);
  }

  /** Linked: the inode's object (if it has one) is to be deleted from the bucket. */
  private forgetRemote(rec: InodeRecord): void {
    const ino = rec.ino;
    const store = this.deps.store;
    const rs = store.remote.get(ino);
    if (!this.options.quiet) {
      // The token also catches an upload of ours a crash kept from being recorded there.
      const at = this.now.sec * 1000 + Math.floor(this.now.nsec / 1e6);
      const token = uploadTokenOf(store, ino, rec.gen);
      // (Directories keep the old rule: a marker never seen is deleted whatever it is.)
      if (rs?.key !== undefined && rs.key !== '') addTombstone(store, rs.key, { etag: rs.etag, at, token: rec.type === 'dir' ? undefined : token });
      tombstoneStrays(store, rs, undefined, token, at);
    }
    putRemote(this, ino, undefined);
    store.pending.removeSync(ino);
    store.unsyncable.removeSync(ino);
    store.blocks.removeSync(ino);
  }

  /** Allocates a new inode number and record (not linked anywhere yet). */
  allocate(init: NewInode): InodeRecord {
    const store = this.deps.store;
    const count = store.counter('inodeCount');
    if (this.deps.maxInodes !== undefined && count >= this.deps.maxInodes) {
      throw new FsError('ENOSPC', `inode limit ${this.deps.maxInodes} reached`);
    }
    const ino = store.counter('nextIno');
    store.addCounter('nextIno', 1);
    store.addCounter('inodeCount', 1);
    const rec = newInodeRecord(ino, init, this.now);
    this.current.set(ino, null);
    this.touched.set(ino, { before: null, beforeUsed: 0 });
    this.save(rec);
    return rec;
  }

  /** Called by the runner when the operation's code returned normally. */
  apply(): void {
    for (const [ino, rec] of this.current) {
      const t = this.touched.get(ino)!;
      this.deps.inodes.installFromTransaction(ino, rec, t.before);
      t.installed = rec;
    }
  }

  /** Called by the runner when the transaction settled. */
  settle(failed: boolean): void {
    for (const [ino, t] of this.touched) {
      if (t.installed === undefined) continue;
      if (failed) this.deps.inodes.revert(ino, t.installed, t.before, t.beforeUsed);
      this.deps.inodes.settle(ino);
    }
  }

  /**
   * The usage LMDB's counter holds for `ino` at this point of the transaction: what an earlier
   * save() in this same transaction charged, else what was last persisted. (Basing every save
   * on the persisted value counted a file twice when one operation saved it twice.)
   */
  private chargedSoFar(ino: number): number {
    return this.current.has(ino) ? chargedBytes(this.current.get(ino)) : this.deps.inodes.persistedUsed(ino);
  }

  private touch(ino: number): void {
    if (this.touched.has(ino)) return;
    const before = this.deps.inodes.get(ino) ?? null;
    this.touched.set(ino, { before, beforeUsed: this.deps.inodes.persistedUsed(ino) });
  }
}

/**
 * Runs `fn` as one atomic, durable metadata operation. FsErrors thrown by `fn` reach the caller
 * unchanged and leave no trace; failures of the database itself become EIO/ENOSPC.
 */
export async function runMutation<T>(deps: MutationDeps, fn: (m: Mutation) => T, options?: MutationOptions): Promise<{ result: T; mutation: Mutation }> {
  let applied: Mutation | undefined;
  let result: T;
  try {
    result = await deps.store.transact(() => {
      const m = new Mutation(deps, options);
      const r = fn(m);
      m.apply();
      applied = m;
      return r;
    });
  } catch (err) {
    (applied as Mutation | undefined)?.settle(true);
    if (err instanceof FsError) throw err;
    throw fromSystemError(err, 'metadata transaction failed');
  }
  const m = applied as unknown as Mutation;
  m.settle(false);
  return { result, mutation: m };
}

/**
 * Puts `ino` in the upload queue unless it is there already or lives in lost+found (local only:
 * nothing to upload). The path walk runs once per inode per upload, not at every change.
 */
export function queueIfShared(store: MetadataStore, ino: number): void {
  if (store.pending.get(ino) !== undefined || isLocalOnly(store, ino)) return;
  store.pending.putSync(ino, 1);
}
