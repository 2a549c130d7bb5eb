// The metadata database: LMDB under <dir>/meta.
//
//   inodes   ino                → InodeRecord
//   dirents  [dirIno, name]     → { ino, cookie }       (lookup)
//   cookies  [dirIno, cookie]   → { name, ino }         (READDIR in stable cookie order)
//   counters name               → number                (nextIno, inodeCount, usedBytes)
//   dirty    ino                → 1   file data may be newer than its record (see core/recovery.ts)
//   orphans  ino                → 1   inode gone, data file still to be unlinked
//   links    [ino, dirIno, name] → 1                  (names of an inode: its path, for S3 keys)
// Linked to a bucket (record shapes in schema.ts, record keeping in remote-state.ts):
//   remote      ino   → RemoteState   where the inode's content lives in the bucket
//   rkeys       rkey  → ino           which inode's content is at a key (moves, conflicts)
//   pending     ino   → 1             changed since the last upload (the persistent sync queue)
//   tombstones  rkey  → Tombstone     keys to delete from the bucket
//   blocks      ino   → BlockMapRecord  blocks present locally / written since the upload
//   settings    name  → string        linkId
//   unsyncable  ino   → Unsyncable    cannot be in the bucket as it is named (PathTooLong)
//
// Durability. Every mutation is durable before transact() resolves - after a kill -9 and after a
// power cut (RFC 1813 wants metadata on stable storage before the reply; DESIGN.md decision 5).
// Two ways, chosen at open (useWal below):
// 1. Redo log (the default; S3FILES_METADATA_WAL=0 or { wal: false } turns it off for a new
//    directory): LMDB with noSync; all transact() calls of one event-loop turn run as one write
//    transaction on the main thread (each fn a child transaction), the writes are recorded and
//    appended as one log record after the commit succeeded and fdatasynced on the calling thread
//    (wal/engine.ts, wal/log.ts, wal/format.ts, wal/segments.ts). Background checkpoints
//    (wal/checkpoint.ts) pin a snapshot, fdatasync data.mdb and keep its meta pages; after a
//    reboot the file returns to the last checkpoint and the log is replayed (wal/recovery.ts).
//    One flush per operation (or per turn's group) instead of LMDB's two.
// 2. Synced commits: `env.transaction(() => env.transactionSync(fn))`, overlappingSync and
//    eventTurnBatching off. The outer async transaction joins lmdb's group commit (one
//    fdatasync on its writer thread for every operation queued meanwhile); the nested
//    transactionSync is a child transaction, so an FsError thrown half-way rolls back that
//    operation alone. eventTurnBatching is off: with it on, a failed commit (ENOSPC) also
//    rejects a promise lmdb-js never hands out, an unhandled rejection (verified on a full tmpfs).
//    A transaction with nothing else around skips the writer thread (commitHere below).
// Not overlappingSync: its commit promise resolves only after the fsync (mdb_txn_commit syncs
// before lmdb-js sets TXN_COMMITTED, and the writer lock passes on only after the previous sync);
// measured at the same latency as a synced commit.
// bench/cache-fs-bench.ts through the file system, ops/s, two runs each (2 shared cores, ±30%):
//                       create 1 / 32 in flight   remove 1 / 32 in flight
//   redo log            1,514-2,154 / 14,713-15,520   1,752-1,779 / 13,160-15,542
//   synced commits      1,296-1,364 / 12,217-14,050   1,042-1,265 / 12,403-14,924
// The log's cost: while a checkpoint's snapshot is pinned (20 ms apart) freed pages wait, so
// data.mdb is larger (3,000 creates and removes: ~5-6 MB instead of ~1.5 MB).
import { open, type Database, type Key, type RootDatabase } from 'lmdb';
import fs from 'node:fs';
import path from 'node:path';
import { logger as makeLogger, type Logger } from '../../log/logger';
import { CheckpointFile, currentBootId, restoreMetaPages } from './wal/checkpoint';
import { WalEngine } from './wal/engine';
import { InlineSyncPolicy } from '../util/inline-sync';
import { FsError } from '../../vfs';
import type { InodeRecord } from './inode';
import type { BlockMapRecord, RemoteState, Tombstone, Unsyncable } from './schema';

export interface DirentValue {
  ino: number;
  cookie: number;
}

export interface CookieValue {
  name: string;
  ino: number;
}

export type CounterName = 'nextIno' | 'inodeCount' | 'usedBytes' | 'format' | 'walSeq';

export interface MetadataStoreOptions {
  /** The kernel's boot id; default: /proc/sys/kernel/random/boot_id (tests pass another). */
  bootId?: string;
  /** Size of a log segment (default 1 MiB). */
  walSegmentBytes?: number;
  /** Least time between background checkpoints (default 20 ms; env S3FILES_WAL_CHECKPOINT_MS). */
  checkpointIntervalMs?: number;
  /**
   * Log + checkpoints (true, the default; env S3FILES_METADATA_WAL=0 turns it off) or a synced
   * LMDB commit per transaction (false). A directory that has a log keeps it.
   */
  wal?: boolean;
  logger?: Logger;
}

export class MetadataStore {
  readonly inodes: Database<InodeRecord, number>;
  readonly dirents: Database<DirentValue, [number, string]>;
  readonly cookies: Database<CookieValue, [number, number]>;
  readonly counters: Database<number, string>;
  readonly dirty: Database<number, number>;
  readonly orphans: Database<number, number>;
  readonly links: Database<number, [number, number, string]>;
  readonly remote: Database<RemoteState, number>;
  readonly rkeys: Database<number, string>;
  readonly pending: Database<number, number>;
  readonly tombstones: Database<Tombstone, string>;
  readonly blocks: Database<BlockMapRecord, number>;
  readonly settings: Database<string, string>;
  readonly unsyncable: Database<Unsyncable, number>;

  /** Undefined: synced commits (see useWal). */
  private readonly wal?: WalEngine;
  /** Whether a synced commit runs on this thread or joins the group commit (commitHere). */
  private readonly commitPlace = new InlineSyncPolicy();

  private constructor(
    private readonly env: RootDatabase,
    metaDir: string,
    options: MetadataStoreOptions & { wal: boolean },
  ) {
    this.inodes = env.openDB<InodeRecord, number>('inodes', {});
    this.dirents = env.openDB<DirentValue, [number, string]>('dirents', {});
    this.cookies = env.openDB<CookieValue, [number, number]>('cookies', {});
    this.counters = env.openDB<number, string>('counters', {});
    this.dirty = env.openDB<number, number>('dirty', {});
    this.orphans = env.openDB<number, number>('orphans', {});
    this.links = env.openDB<number, [number, number, string]>('links', {});
    this.remote = env.openDB<RemoteState, number>('remote', {});
    this.rkeys = env.openDB<number, string>('rkeys', {});
    this.pending = env.openDB<number, number>('pending', {});
    this.tombstones = env.openDB<Tombstone, string>('tombstones', {});
    this.blocks = env.openDB<BlockMapRecord, number>('blocks', {});
    this.settings = env.openDB<string, string>('settings', {});
    this.unsyncable = env.openDB<Unsyncable, number>('unsyncable', {});
    // The order is the log's database numbering: append only.
    const dbs = [this.inodes, this.dirents, this.cookies, this.counters, this.dirty, this.orphans, this.links];
    const linked = [this.remote, this.rkeys, this.pending, this.tombstones, this.blocks, this.settings, this.unsyncable];
    const all = [...dbs, ...linked] as unknown as Array<Database<unknown, Key>>;
    if (!options.wal) return;
    const log = options.logger ?? makeLogger('cache-metadata');
    const fromEnv = Number(process.env.S3FILES_WAL_CHECKPOINT_MS);
    this.wal = WalEngine.startSync(env, all, this.counters as unknown as Database<unknown, Key>, metaDir, {
      bootId: options.bootId ?? currentBootId(),
      segmentBytes: options.walSegmentBytes,
      checkpointIntervalMs: options.checkpointIntervalMs ?? (Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : undefined),
      log,
    });
  }

  /**
   * Opens (creating) the database under <dir>/meta: after a reboot returns it to its last
   * checkpoint, replays the log, checkpoints. Synchronous: it runs once, before anything else.
   */
  static open(dir: string, options: MetadataStoreOptions = {}): MetadataStore {
    const metaDir = path.join(dir, 'meta');
    const bootId = options.bootId ?? currentBootId();
    const wal = useWal(metaDir, options.wal);
    if (wal) {
      const cp = CheckpointFile.peekSync(path.join(metaDir, 'wal', 'checkpoint'));
      const dataFile = path.join(metaDir, 'data.mdb');
      // Another boot wrote the last checkpoint: a power cut may have left data.mdb with meta
      // pages that point at pages which never reached the disk. An empty boot id means unknown.
      if (cp && (cp.bootId !== bootId || bootId === '') && fs.existsSync(dataFile)) {
        restoreMetaPages(dataFile, cp);
        (options.logger ?? makeLogger('cache-metadata')).info('metadata database returned to its last checkpoint after a restart', { seq: cp.seq });
      }
    }
    const env = open(metaDir, {
      // With the log, durability comes from the log and the checkpoints (see above); without,
      // each commit is synced (and so need not be pinned against page reuse).
      noSync: wal,
      overlappingSync: false,
      eventTurnBatching: false,
      maxDbs: 16,
      // Records are small and read far more often than written; LMDB's own page cache (the
      // OS page cache through mmap) is enough, no object cache on top.
      noMemInit: true,
    });
    try {
      return new MetadataStore(env, metaDir, { ...options, bootId, wal });
    } catch (err) {
      void env.close();
      throw err;
    }
  }

  /**
   * Runs `fn` atomically and resolves once the change is durable. `fn` must be synchronous; it
   * sees every change committed or queued before it. If it throws, none of its writes happen
   * and the promise rejects with the thrown error.
   */
  transact<T>(fn: () => T): Promise<T> {
    if (this.wal) return this.wal.transact(fn);
    if (this.commitPlace.mayInline()) return this.commitHere(fn);
    // Synced, grouped: the outer async transaction joins lmdb's group commit on its writer
    // thread, the nested transactionSync is a child transaction that rolls back alone if fn throws.
    return this.env
      .transaction(() => this.env.transactionSync(fn))
      .catch(syncedCommitFailure)
      .finally(this.commitPlace.asyncStarted());
  }

  /**
   * With no other transaction around, one commits (synced) on this thread: lmdb's writer thread
   * costs four thread hand-offs per transaction, ~0.25-0.35 ms on this machine's VM against
   * ~0.45 ms for the synced commit itself, and that is what a client doing one thing at a time
   * (rm -rf, a shell loop of creates) waits for. As soon as transactions overlap (one pending on
   * the writer thread, or a second in the same event-loop turn), they go to the group commit for
   * a while (inline-sync.ts), so a busy server keeps batching and this thread does not wait on
   * the writer's lock.
   */
  private commitHere<T>(fn: () => T): Promise<T> {
    const ended = this.commitPlace.inlineStarted();
    try {
      return Promise.resolve(this.env.transactionSync(fn));
    } catch (err) {
      return Promise.reject(directCommitFailure(err));
    } finally {
      ended();
    }
  }

  /** Whether changes go through the redo log (false: a synced commit each). */
  get logged(): boolean {
    return this.wal !== undefined;
  }

  /** Makes LMDB's file durable now and records it as the checkpoint (tests, benchmarks). */
  async checkpoint(): Promise<void> {
    await this.wal?.checkpoint();
  }

  counter(name: CounterName): number {
    return this.counters.get(name) ?? 0;
  }

  /** Inside a transaction only. */
  addCounter(name: CounterName, delta: number): number {
    const v = this.counter(name) + delta;
    this.counters.putSync(name, v);
    return v;
  }

  listDirty(): number[] {
    return Array.from(this.dirty.getKeys({}));
  }

  listOrphans(): number[] {
    return Array.from(this.orphans.getKeys({}));
  }

  async close(): Promise<void> {
    await this.wal?.close();
    await this.env.close();
  }
}

/**
 * Whether to open with the redo log: yes unless asked not to ({ wal: false }, or
 * S3FILES_METADATA_WAL=0) - one flush per operation instead of two (see the header). A
 * directory that has a log keeps it: its recovery needs it.
 */
function useWal(metaDir: string, explicit: boolean | undefined): boolean {
  if (fs.existsSync(path.join(metaDir, 'wal', 'checkpoint'))) return true;
  if (explicit !== undefined) return explicit;
  return process.env.S3FILES_METADATA_WAL !== '0';
}

const ERRNO_CODES: Record<number, 'ENOSPC' | 'EDQUOT' | 'EIO'> = { 28: 'ENOSPC', 122: 'EDQUOT', 5: 'EIO' };

/** A numeric errno from lmdb (`code`) as the FsError NFS can answer with. */
function commitErrno(cause: unknown): FsError | undefined {
  const errno = (cause as { code?: unknown } | undefined)?.code;
  if (typeof errno !== 'number') return undefined;
  return new FsError(ERRNO_CODES[errno] ?? 'EIO', 'metadata commit failed', { cause });
}

/**
 * transactionSync throws lmdb's own error (numeric `code`) when the commit or a write fails;
 * errors thrown by the operation's own code (FsError and the like) pass through.
 */
function directCommitFailure(err: unknown): unknown {
  if (err instanceof FsError) return err;
  return commitErrno(err) ?? err;
}

/**
 * lmdb-js rejects a failed async commit with "Commit failed" and the real cause (with a numeric
 * errno) in a second promise, `commitError`, which must also be handled. Errors thrown by the
 * operation's own code (FsError) pass through.
 */
async function syncedCommitFailure(err: unknown): Promise<never> {
  const pending = (err as { commitError?: Promise<unknown> } | undefined)?.commitError;
  if (!pending || typeof pending.then !== 'function') throw err;
  const cause = await pending.then(
    () => err,
    (e: unknown) => e,
  );
  throw commitErrno(cause) ?? new FsError('EIO', 'metadata commit failed', { cause });
}
