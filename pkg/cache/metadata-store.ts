// The metadata database: LMDB under <dir>/meta.
//
//   inodes   ino                → InodeRecord
//   dirents  [dirIno, name]     → { ino, cookie }       (lookup)
//   cookies  [dirIno, cookie]   → { name, ino }         (READDIR in stable cookie order)
//   counters name               → number                (nextIno, inodeCount, usedBytes)
//   dirty    ino                → 1   file data may be newer than its record (see recovery.ts)
//   orphans  ino                → 1   inode gone, data file still to be unlinked
//
// Durability strategy (measured with bench/cache-metadata-sync.ts on this machine's ext4 disk,
// a write transaction of 2 puts + 1 get; ops/s at concurrency 1 / 4 / 32 / 128):
//   transactionSync + await db.flushed (overlappingSync)  1,700 / 2,100 / 2,100 / 2,400
//       main thread blocked 400-600 µs per op: LMDB fsyncs inside the synchronous commit
//       even with overlappingSync, so every NFS connection stalls and nothing is batched.
//   transaction() + await db.flushed (overlappingSync)      800 / 5,000 / 26,000 / 55,000
//   transaction() with overlappingSync: false             1,100 / 6,300 / 32,000 / 29-61,000
//   transaction(() => transactionSync(fn)), no overlap    1,500 / 6,200 / 31,000 / 57,000
//       main thread ~1-10 µs per op.
// So each mutation runs as `env.transaction(() => env.transactionSync(fn))`: the outer async
// transaction joins lmdb's group commit (one fdatasync for every operation queued meanwhile,
// done on lmdb's writer thread), the nested transactionSync is a child transaction so an FsError
// thrown half-way rolls back that operation alone (a plain async callback that throws keeps its
// partial writes - verified). With overlappingSync off the promise resolves only after the
// commit is synced, so resolving == durable, which is what an NFS reply needs; standard LMDB
// commits never need the boot-id trick to survive a power cut.
// eventTurnBatching is off: with it on, a failed commit (e.g. ENOSPC on the cache disk) also
// rejects a promise lmdb-js creates for the event-turn batch and never hands out, an unhandled
// rejection that would take the whole server down (verified on a full tmpfs). Group commit is
// unaffected: operations queued while a commit is in flight still share the next one
// (conc 32: 12,600 vs 16,200 ops/s, conc 128: 46,000 vs 45,600, same run; this disk is noisy).
import { open, type Database, type RootDatabase } from 'lmdb';
import path from 'node:path';
import { FsError } from '../vfs';
import type { InodeRecord } from './inode';

export interface DirentValue {
  ino: number;
  cookie: number;
}

export interface CookieValue {
  name: string;
  ino: number;
}

export type CounterName = 'nextIno' | 'inodeCount' | 'usedBytes' | 'format';

export class MetadataStore {
  readonly inodes: Database<InodeRecord, number>;
  readonly dirents: Database<DirentValue, [number, string]>;
  readonly cookies: Database<CookieValue, [number, number]>;
  readonly counters: Database<number, string>;
  readonly dirty: Database<number, number>;
  readonly orphans: Database<number, number>;

  private constructor(private readonly env: RootDatabase) {
    this.inodes = env.openDB<InodeRecord, number>('inodes', {});
    this.dirents = env.openDB<DirentValue, [number, string]>('dirents', {});
    this.cookies = env.openDB<CookieValue, [number, number]>('cookies', {});
    this.counters = env.openDB<number, string>('counters', {});
    this.dirty = env.openDB<number, number>('dirty', {});
    this.orphans = env.openDB<number, number>('orphans', {});
  }

  static open(dir: string): MetadataStore {
    const env = open(path.join(dir, 'meta'), {
      overlappingSync: false,
      eventTurnBatching: false,
      maxDbs: 8,
      // Records are small and read far more often than written; LMDB's own page cache (the
      // OS page cache through mmap) is enough, no object cache on top.
      noMemInit: true,
    });
    return new MetadataStore(env);
  }

  /**
   * Runs `fn` atomically and resolves once the change is durable. `fn` must be synchronous; it
   * sees every change committed or queued before it. If it throws, none of its writes happen
   * and the promise rejects with the thrown error.
   */
  transact<T>(fn: () => T): Promise<T> {
    return this.env.transaction(() => this.env.transactionSync(fn)).catch(commitFailure);
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
    await this.env.close();
  }
}

const ERRNO_CODES: Record<number, 'ENOSPC' | 'EDQUOT' | 'EIO'> = { 28: 'ENOSPC', 122: 'EDQUOT', 5: 'EIO' };

/**
 * lmdb-js rejects a failed commit with "Commit failed" and the real cause (with a numeric errno)
 * in a second promise, `commitError`, which must also be handled. Errors thrown by the
 * operation's own code (FsError) pass through.
 */
async function commitFailure(err: unknown): Promise<never> {
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
