// What the core, the operations (ops/) and the file system ask of the linked part of a cache
// (link/): the core defines it and link/link-context.ts implements it, so that nothing below
// link/ imports link/. A local cache has none (FsCore.link undefined).
import type { Mutation } from '../meta/mutation';

export interface LinkedPart {
  /** Which blocks of each file are present locally and which were written since the upload. */
  readonly blocks: {
    /** WRITE: [offset, offset + length) is local now and changed since the last upload. */
    markWritten(ino: number, offset: number, length: number): void;
    /** A truncate to `size`: blocks past it are local (zeros) and count as changed. */
    truncated(ino: number, size: number): void;
    /** In a transaction: writes the file's block map if it changed. */
    saveInTxn(m: Mutation, ino: number): void;
  };
  /** Blocks absent locally, fetched from the object. */
  readonly fetcher: {
    /** READ: notes the read for the sequential-reader detection. */
    track(ino: number, offset: number, count: number): void;
    /** READ: starts fetching ahead of a sequential reader. */
    readAhead(ino: number, offset: number, count: number): void;
    /** Makes the blocks of [offset, end) present (ENOSPC/EDQUOT: the cache disk is full). */
    ensure(ino: number, offset: number, end: number): Promise<void>;
    /** A full cache disk: `local` with the absent parts read from the object. */
    readThrough(ino: number, offset: number, local: Buffer): Promise<Buffer>;
    /** WRITE: fetches the blocks [offset, end) covers only in part. */
    prepareWrite(ino: number, offset: number, end: number): Promise<void>;
  };
  /** A stream of the object for a steadily sequential reader of uncached data. */
  readonly streamer: {
    active(ino: number): boolean;
    eligible(ino: number, offset: number): boolean;
    wants(ino: number, offset: number, n: number): boolean;
    read(ino: number, offset: number, n: number): Promise<Buffer | undefined>;
  };
  /** Whole-file eviction, least recently used first. */
  readonly evictor: {
    touch(ino: number): void;
  };
  /** What listings left to read from the bucket: metadata (HEAD) and small files (whole GET). */
  readonly imports: {
    /** GETATTR: the read of `ino`'s attributes, if pending (bounded; EJUKEBOX if it cannot be done). */
    wait(ino: number): Promise<void> | undefined;
    /** LOOKUP: `name` in `dir` gets its attributes first. */
    beforeLookup(dir: number, name: string): Promise<void>;
    /** READDIRPLUS: the entries of the page after `cookie` get their attributes first. */
    beforeReaddirPlus(dir: number, cookie: bigint, maxEntries: number): Promise<void>;
    /** READ: a queued import of `ino` runs now and is waited for. */
    beforeRead(ino: number): Promise<void> | undefined;
  };
  /** Tree walks: a client starts to read `dirIno` from its first entry (walk-ahead.ts). */
  readonly walkAhead: { entered(dirIno: number): void };
  /** Directory listings imported from the bucket. */
  readonly importer: {
    ensureListed(dirIno: number, mode?: 'ttl' | 'fresh' | 'once'): Promise<void>;
    /** Resolves once no listing runs. */
    idle(): Promise<void>;
  };
  /** A size change: uploads in flight must not claim bytes past the smallest size seen. */
  noteSize(ino: number, size: number): void;
  /** In the transaction of a rename or unlink, before `ino` loses its name (stray uploads). */
  noteStrays(m: Mutation, ino: number): void;
  /** The periodic flush: inodes whose block maps are to be written besides `alreadyDirty`. */
  blockMapsToSave(alreadyDirty: number[]): Promise<number[]>;
  /** Stops background work (eviction, streams) before the file system closes. */
  close(): void;
}
