// The operations a metadata transaction performs, recorded for the redo log (engine.ts):
// every putSync/removeSync on the store's databases is taken over, performed, and encoded as
// [database number, key, value?] (msgpack) into the current transaction's list. A write outside
// a transaction is refused rather than left out of the log.
import fs from 'node:fs';
import { Packr } from 'msgpackr';
import type { Database, Key } from 'lmdb';
import { FsError } from '../../../vfs';

type AnyDb = Database<unknown, Key>;
interface RawDb {
  put(key: unknown, value: unknown): void;
  remove(key: unknown): void;
}

// Plain msgpack (no shared record structures): a record must decode in any later process.
const packr = new Packr({ useRecords: false });

export class OpRecorder {
  private readonly raw: RawDb[] = [];
  /** Where writes are recorded now; undefined: no transaction is running. */
  recording?: Buffer[];

  instrument(db: AnyDb, index: number): void {
    const put = db.putSync.bind(db) as (k: unknown, v: unknown) => boolean;
    const remove = db.removeSync.bind(db) as (k: unknown) => boolean;
    this.raw[index] = { put: (k, v) => void put(k, v), remove: (k) => void remove(k) };
    const self = this;
    Object.assign(db, {
      putSync(key: unknown, value: unknown, ...rest: unknown[]): boolean {
        const ops = self.recorder(rest);
        const r = put(key, value);
        ops.push(packr.pack([index, key, value]));
        return r;
      },
      removeSync(key: unknown, ...rest: unknown[]): boolean {
        const ops = self.recorder(rest);
        const r = remove(key);
        ops.push(packr.pack([index, key]));
        return r;
      },
    });
  }

  /** Where the current write is recorded; refuses writes that would escape the log. */
  private recorder(rest: unknown[]): Buffer[] {
    if (!this.recording) throw new Error('metadata write outside MetadataStore.transact()');
    if (rest.length > 0 && rest[0] !== undefined) throw new Error('metadata writes take no options (the log could not replay them)');
    return this.recording;
  }

  apply(payload: Buffer): void {
    for (const op of packr.unpackMultiple(payload) as Array<[number, unknown, unknown?]>) {
      const db = this.raw[op[0]];
      if (!db) throw new Error(`metadata log names database ${op[0]}, which does not exist`);
      if (op.length === 3) db.put(op[1], op[2]);
      else db.remove(op[1]);
    }
  }
}

const ERRNO_CODES: Record<number, 'ENOSPC' | 'EDQUOT' | 'EIO'> = { 28: 'ENOSPC', 122: 'EDQUOT', 5: 'EIO' };

/**
 * lmdb-js throws a failed commit with the errno (or an LMDB code) as a number in `code`. LMDB
 * turns a short write into EIO (mdb_page_flush), which is what a disk that fills up half-way
 * through a commit gives: with no room left on the database's file system, that is ENOSPC.
 */
export function commitFailure(err: unknown, dir: string): FsError {
  if (err instanceof FsError) return err;
  const errno = (err as { code?: unknown } | undefined)?.code;
  let code = typeof errno === 'number' ? (ERRNO_CODES[errno] ?? 'EIO') : 'EIO';
  if (code === 'EIO' && freeBytes(dir) < SHORT_WRITE_ROOM) code = 'ENOSPC';
  return new FsError(code, 'metadata commit failed', { cause: err });
}

/** Less room than this after a failed commit means the commit ran out of space. */
const SHORT_WRITE_ROOM = 1024 * 1024;

/** Bytes free for us on the file system of `dir` (unknown: infinite). */
export function freeBytes(dir: string): number {
  try {
    const st = fs.statfsSync(dir);
    return st.bavail * st.bsize;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

