// The metadata database: LMDB under <dir>/meta.
//
//   inodes   ino                → InodeRecord
//   dirents  [dirIno, name]     → { ino, cookie }       (lookup)
//   cookies  [dirIno, cookie]   → { name, ino }         (READDIR in stable cookie order)
//   counters name               → number                (nextIno, inodeCount, usedBytes)
//   dirty    ino                → 1   file data may be newer than its record (see recovery.ts)
//   orphans  ino                → 1   inode gone, data file still to be unlinked
//   links    [ino, dirIno, name] → 1                  (names of an inode: its path, for S3 keys)
// Linked to a bucket (remote-state.ts):
//   remote      ino   → RemoteState   where the inode's content lives in the bucket
//   rkeys       rkey  → ino           which inode's content is at a key (moves, conflicts)
//   pending     ino   → 1             changed since the last upload (the persistent sync queue)
//   tombstones  rkey  → Tombstone     keys to delete from the bucket
//   blocks      ino   → BlockMapRecord  blocks present locally / written since the upload
//   settings    name  → string        linkId
//
// Durability (issue 2: metadata operations at concurrency 1 were bound by LMDB's fsyncs).
// Every mutation is durable before transact() resolves - after a kill -9 and after a power cut
// (RFC 1813 wants metadata on stable storage before the reply; DESIGN.md decision 5) - and it
// now costs one log fdatasync instead of an LMDB commit's two flushes:
//   - LMDB runs with noSync: a transaction commits on the main thread into the page cache and is
//     visible at once (wal-engine.ts batches all transact() calls of one event-loop turn into
//     one write transaction, each fn a child transaction that rolls back alone if it throws).
//   - Its writes are logged: a redo record per commit, appended after the commit succeeded and
//     fdatasynced with group commit (wal-log.ts, wal-format.ts, wal-segments.ts).
//   - Frequent background checkpoints (wal-checkpoint.ts) pin a snapshot, fdatasync data.mdb and
//     keep a copy of its meta pages; after a reboot the file is returned to the last checkpoint
//     and the log replayed (wal-recovery.ts). A kill -9 loses nothing: the page cache survives.
// Why not lmdb-js's overlappingSync: its commit promise resolves only after the fsync (the sync
// runs inside mdb_txn_commit before TXN_COMMITTED is set; the writer lock is handed on only after
// the previous sync), measured at the same ~1 ms per operation as a synced commit.
// Measured with bench/cache-metadata-sync.ts (one get and two puts per operation, awaited until
// durable; ops/s at 1 / 4 / 32 / 128 in flight; 2 shared cores, runs vary by ±30%):
//   transaction(() => transactionSync(fn)), synced commit (before)      see README (table)
//   MetadataStore.transact: noSync + log + checkpoints (now)            see README (table)
import { open, type Database, type Key, type RootDatabase } from 'lmdb';
import fs from 'node:fs';
import path from 'node:path';
import { logger as makeLogger, type Logger } from '../log/logger';
import { CheckpointFile, currentBootId, restoreMetaPages } from './wal-checkpoint';
import { WalEngine } from './wal-engine';
import { FsError } from '../vfs';
import type { InodeRecord } from './inode';
import type { BlockMapRecord, RemoteState, Tombstone } from './remote-state';

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
   * Log + checkpoints (true) or a synced LMDB commit per transaction (false). Default: the log,
   * unless the database's file system is smaller than 1 GiB (env S3FILES_METADATA_WAL=1/0).
   * A directory that has a log keeps it (its recovery needs it).
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

  /** Undefined: synced commits (see useWal). */
  private readonly wal?: WalEngine;

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
    // The order is the log's database numbering: append only.
    const dbs = [this.inodes, this.dirents, this.cookies, this.counters, this.dirty, this.orphans, this.links];
    const linked = [this.remote, this.rkeys, this.pending, this.tombstones, this.blocks, this.settings];
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
    // Synced: the outer async transaction joins lmdb's group commit on its writer thread, the
    // nested transactionSync is a child transaction that rolls back alone if fn throws.
    return this.env.transaction(() => this.env.transactionSync(fn)).catch(syncedCommitFailure);
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
 * The log's checkpoints pin a snapshot, so LMDB's file grows by the pages written between two
 * checkpoints (measured: 3,000 mkdirs left a 4.5 MB file instead of 1.4 MB). On a small file
 * system that slack can be what file data or the metadata reserve needs (the 8 MiB disk-full
 * test ran out), so small ones keep synced commits. A directory with a log keeps using it.
 */
function useWal(metaDir: string, explicit: boolean | undefined): boolean {
  if (fs.existsSync(path.join(metaDir, 'wal', 'checkpoint'))) return true;
  if (explicit !== undefined) return explicit;
  const env = process.env.S3FILES_METADATA_WAL;
  if (env === '1' || env === '0') return env === '1';
  fs.mkdirSync(metaDir, { recursive: true });
  const st = fs.statfsSync(metaDir);
  return st.blocks * st.bsize >= 1024 * 1024 * 1024;
}

const ERRNO_CODES: Record<number, 'ENOSPC' | 'EDQUOT' | 'EIO'> = { 28: 'ENOSPC', 122: 'EDQUOT', 5: 'EIO' };

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
  const errno = (cause as { code?: unknown } | undefined)?.code;
  const code = typeof errno === 'number' ? (ERRNO_CODES[errno] ?? 'EIO') : 'EIO';
  throw new FsError(code, 'metadata commit failed', { cause });
}
