// Where inode records are read and changed. LMDB holds the durable records; `hot` holds, in
// memory, every record that is newer than LMDB's committed state:
//   - attributes changed by WRITE (size, mtime, used, dataVersion) and by reads (atime), which
//     are persisted lazily: by COMMIT, a stable WRITE, the periodic flush, or close;
//   - records written by a transaction that has run but is not yet committed (and tombstones
//     for records it deleted), so a read outside the transaction never sees an older state.
// Readers therefore look in `hot` first and fall back to LMDB.
//
// Records read from LMDB are also kept in `clean`, a bounded cache of committed records: an
// LMDB get plus the msgpack decode of a record was most of the cache's share of a GETATTR,
// ACCESS or LOOKUP (bench/rpc-bench.ts). Every change to a record goes through this table
// (update, installFromTransaction, revert), and each of them drops the clean copy before the
// record can differ from it, so a clean copy is always what LMDB has committed. Reads made inside
// a write transaction are not remembered: LMDB shows them that transaction's own writes, which
// may still be rolled back. Records handed out are shared and must not be changed by the caller
// (as records in `hot` already are).
import type { InodeRecord } from './inode';
import type { MetadataStore } from './metadata-store';

export interface HotEntry {
  /** null: deleted by a transaction that is not committed yet. */
  rec: InodeRecord | null;
  /** Bumped by every in-memory change. */
  version: number;
  /** The version last written by a transaction (committed or on its way). */
  persistedVersion: number;
  /** Regular-file bytes as last persisted, for the usage counter. */
  persistedUsed: number;
  /** Transactions that wrote this entry and have not settled. */
  pending: number;
}

/** Bytes of a record that count against capacity: only regular files hold data. */
export function chargedBytes(rec: InodeRecord | null | undefined): number {
  return rec && rec.type === 'file' ? rec.used : 0;
}

/**
 * Committed records kept in memory, per file system (~350 bytes each, so ~3 MiB): one node
 * plugin serves an export per staged volume, so this is per volume. Enough for a 2,000-entry
 * READDIRPLUS and the LOOKUP/GETATTR bursts that follow it.
 */
export const CLEAN_RECORDS = 8192;

export class InodeTable {
  private readonly hot = new Map<number, HotEntry>();
  /**
   * Records as LMDB holds them, oldest first (Map insertion order). Hits do not move an entry
   * to the back: a delete + set per hit made V8 rehash the map over and over (12% of a GETATTR
   * profile), while an evicted record costs one LMDB read.
   */
  private readonly clean = new Map<number, InodeRecord>();
  /** Bytes charged by all regular files as they are in memory now. */
  memoryUsed = 0;
  /** Off until cacheCommitted(): recovery writes records straight to LMDB before that. */
  private caching = false;

  constructor(
    readonly store: MetadataStore,
    private readonly maxClean = CLEAN_RECORDS,
  ) {}

  /**
   * From now on every change to a record goes through this table, so committed records may be
   * kept in memory. Called once the file system is open (after crash recovery, which repairs
   * records in LMDB directly); anything remembered before is dropped.
   */
  cacheCommitted(): void {
    this.clean.clear();
    this.caching = true;
  }

  get(ino: number): InodeRecord | undefined {
    const e = this.hot.get(ino);
    if (e) return e.rec ?? undefined;
    return this.clean.get(ino) ?? this.committed(ino);
  }

  /** Reads LMDB and remembers the record (outside `hot`, LMDB is the newest state). */
  private committed(ino: number): InodeRecord | undefined {
    const rec = this.store.inodes.get(ino);
    if (rec === undefined || !this.caching || this.maxClean === 0 || this.inWriteTransaction()) return rec;
    if (this.clean.size >= this.maxClean) {
      const oldest = this.clean.keys().next();
      if (oldest.done !== true) this.clean.delete(oldest.value);
    }
    this.clean.set(ino, rec);
    return rec;
  }

  /**
   * Whether this call runs inside an LMDB write transaction. lmdb-js marks one on its env
   * object (`writeTxn`, what its own read path checks); where that is not there, the
   * documented getWriteTxnId(), which throws outside a write transaction, decides.
   */
  private inWriteTransaction(): boolean {
    const env = (this.store.inodes as unknown as { env?: { writeTxn?: unknown } }).env;
    if (env !== undefined && 'writeTxn' in env) return env.writeTxn !== null && env.writeTxn !== undefined;
    try {
      this.store.inodes.getWriteTxnId();
      return true;
    } catch {
      return false;
    }
  }

  entry(ino: number): HotEntry | undefined {
    return this.hot.get(ino);
  }

  /**
   * Changes a record in memory only (data path: size, times, used). Returns the new record,
   * or undefined if the inode no longer exists. The change is persisted later.
   */
  update(ino: number, fn: (rec: InodeRecord) => void): InodeRecord | undefined {
    let e = this.hot.get(ino);
    if (!e) {
      const rec = this.clean.get(ino) ?? this.store.inodes.get(ino);
      this.clean.delete(ino);
      if (!rec) return undefined;
      e = { rec, version: 0, persistedVersion: 0, persistedUsed: chargedBytes(rec), pending: 0 };
      this.hot.set(ino, e);
    }
    if (!e.rec) return undefined;
    const next = { ...e.rec };
    fn(next);
    this.memoryUsed += chargedBytes(next) - chargedBytes(e.rec);
    e.rec = next;
    e.version++;
    return next;
  }

  /** Inside a transaction: the usage already charged in LMDB for `ino`. */
  persistedUsed(ino: number): number {
    const e = this.hot.get(ino);
    if (e) return e.persistedUsed;
    return chargedBytes(this.clean.get(ino) ?? this.store.inodes.get(ino));
  }

  /**
   * Inside a transaction, after writing `rec` (or deleting it: rec null) to LMDB; `previous`
   * is the record as it was in memory before.
   */
  installFromTransaction(ino: number, rec: InodeRecord | null, previous: InodeRecord | null): HotEntry {
    this.clean.delete(ino);
    let e = this.hot.get(ino);
    if (!e) {
      e = { rec: null, version: 0, persistedVersion: 0, persistedUsed: 0, pending: 0 };
      this.hot.set(ino, e);
    }
    this.memoryUsed += chargedBytes(rec) - chargedBytes(previous);
    e.rec = rec;
    e.version++;
    e.persistedVersion = e.version;
    e.persistedUsed = chargedBytes(rec);
    e.pending++;
    return e;
  }

  /** A transaction that wrote these entries has settled (committed or failed). */
  settle(ino: number): void {
    const e = this.hot.get(ino);
    if (!e) return;
    e.pending--;
    this.evictIfClean(ino, e);
  }

  /** Undo an in-memory change whose transaction failed, unless something changed it since. */
  revert(ino: number, installed: InodeRecord | null, before: InodeRecord | null, beforeUsed: number): void {
    const e = this.hot.get(ino);
    if (!e || e.rec !== installed) return;
    this.clean.delete(ino);
    this.memoryUsed += chargedBytes(before) - chargedBytes(installed);
    e.rec = before;
    e.persistedUsed = beforeUsed;
    // Whatever `before` held that LMDB lacks (e.g. a size from WRITE) is flushed again.
    e.version++;
  }

  /** Entries whose in-memory attributes are newer than anything written to LMDB. */
  dirtyInodes(): number[] {
    const out: number[] = [];
    for (const [ino, e] of this.hot) if (e.rec && e.version !== e.persistedVersion) out.push(ino);
    return out;
  }

  isDirty(ino: number): boolean {
    const e = this.hot.get(ino);
    return e !== undefined && e.rec !== null && e.version !== e.persistedVersion;
  }

  get hotCount(): number {
    return this.hot.size;
  }

  private evictIfClean(ino: number, e: HotEntry): void {
    if (e.pending === 0 && e.version === e.persistedVersion) this.hot.delete(ino);
  }
}
