// What every reconciler job works with: the cache's sync API, the bucket, the key mapping, the
// locks that order jobs, and the counters they bump.
import type { CacheSync } from '../cache';
import type { Logger } from '../log/logger';
import { KeyedMutex } from '../s3/keyed-mutex';
import type { ObjectStore } from '../s3/object-store';
import type { ByteBudget } from './byte-budget';
import type { Foreground } from './foreground';
import type { KeyMap } from './key-map';
import type { MoveFence } from './move-fence';
import type { MetadataStyle } from './object-meta';
import type { UploadTuning } from './upload';

export class SyncStats {
  puts = 0;
  multipartUploads = 0;
  copies = 0;
  markers = 0;
  deletes = 0;
  directoryMoves = 0;
  bytesSent = 0;
  bytesCopied = 0;
  conflicts = 0;
  /** Uploads found in the bucket that a crash kept from being recorded (not conflicts). */
  ownWritesRecovered = 0;
  errors = 0;
  /** Jobs turned away by a directory move in progress (each waits for the move's end, once). */
  deferredByMove = 0;
}

/**
 * One async mutex per key, taken for several keys at once in sorted order (no deadlock between
 * two jobs that need the same two keys). Jobs that write or delete a key hold it, so a
 * tombstone's DELETE never overtakes an upload to the same key, nor the other way round.
 */
export class KeyLocks {
  private readonly mutex = new KeyedMutex();

  async run<T>(keys: Array<string | undefined>, fn: () => Promise<T>): Promise<T> {
    const sorted = Array.from(new Set(keys.filter((k): k is string => k !== undefined))).sort();
    const releases: Array<() => void> = [];
    try {
      for (const key of sorted) releases.push(await this.mutex.acquire(key));
      return await fn();
    } finally {
      for (const release of releases.reverse()) release();
    }
  }
}

/** One upload on the wire, for status pages: its key, size and bytes written so far. */
export interface UploadInFlight {
  key: string;
  size: number;
  /** Bytes in the bucket so far (sent or copied server-side): grows part by part. */
  doneBytes: number;
  startedAt: string;
}

/** The uploads running now, by inode. */
export class UploadsInFlight {
  private readonly uploads = new Map<number, UploadInFlight>();

  /** Records an upload of `size` bytes to `key`; the caller reports progress and calls end(). */
  begin(ino: number, key: string, size: number): { progress(bytes: number): void; end(): void } {
    const u: UploadInFlight = { key, size, doneBytes: 0, startedAt: new Date().toISOString() };
    this.uploads.set(ino, u);
    return {
      progress: (bytes) => (u.doneBytes = Math.min(u.size, u.doneBytes + bytes)),
      end: () => {
        if (this.uploads.get(ino) === u) this.uploads.delete(ino);
      },
    };
  }

  list(): UploadInFlight[] {
    return Array.from(this.uploads.values(), (u) => ({ ...u }));
  }
}

export interface ReconcileContext {
  sync: CacheSync;
  store: ObjectStore;
  keys: KeyMap;
  tuning: UploadTuning;
  /** Which metadata keys uploads carry (object-meta.ts). */
  metadataStyle: MetadataStyle;
  log: Logger;
  stats: SyncStats;
  /** Uploads on the wire and how far they are (status, metrics). */
  inflight: UploadsInFlight;
  keyLocks: KeyLocks;
  /**
   * Keeps jobs on keys under a directory move's old or new prefix out while the move runs (they
   * are tried again later); everything else goes on.
   */
  fence: MoveFence;
  /** Bytes of file contents held in memory by uploads in flight. */
  budget: ByteBudget;
  /** Requests clients wait for, shared with the export's ObjectStoreSource: long runs of requests yield to them. */
  foreground: Foreground;
  /** Something queued tombstones (the reconciler looks for new ones). */
  tombstonesAdded(): void;
}

/** `fenced`: turned away by a directory move in progress; tried again when the move ends, not before. */
export type Outcome = { kind: 'done' } | { kind: 'later'; ms: number; why: string; fenced?: boolean };

export const DONE: Outcome = { kind: 'done' };

export function later(ms: number, why: string): Outcome {
  return { kind: 'later', ms, why };
}

/** A job whose keys are under a directory move in progress: it waits for the move to end (`ms` if the reconciler cannot tell). */
export function fencedOff(ms: number): Outcome {
  return { kind: 'later', ms, why: 'a directory move is in progress there', fenced: true };
}
