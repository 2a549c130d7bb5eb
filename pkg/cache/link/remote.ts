// The remote side of a linked cache file system, as pkg/cache sees it: something that lists a
// directory and reads byte ranges of a file. pkg/cache never imports pkg/s3; pkg/reconcile
// implements this over an ObjectStore (the S3 key layout, metadata encoding and HEAD policy are
// its business) and is also what uploads local changes (see sync-api.ts).
//
// Remote keys ("rkeys") are relative to the linked bucket/prefix: a regular file, symlink or
// special file at path a/b is "a/b"; a directory is "a/b/" (the key of its marker, and the
// prefix its children are listed under); the root is "".
import type { Timestamp } from '../../vfs';
import type { ImportRule } from './import-rules';
import type { SharedCacheBudget } from './cache-budget';

export type RemoteType = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'char' | 'block';

export interface RemoteEntry {
  /** A valid file name (the source skips keys that cannot be names). */
  name: string;
  type: RemoteType;
  /** Object size (regular files), 0 otherwise. */
  size: number;
  /** The object's ETag; for directories the marker's, absent when the directory is implicit. */
  etag?: string;
  mtime: Timestamp;
  /** Permission bits (07777) when the object's metadata says; the volume default otherwise. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Symlinks: the target (the object's body). */
  target?: string;
  /**
   * The object's LastModified as the listing shows it (ms; a directory: its marker's). A change
   * with the same ETag is a metadata-only change (a copy onto itself: chmod by s3fs, `aws s3 cp
   * --metadata-directive REPLACE`), which the source then HEADs.
   */
  modifiedMs?: number;
  /** Type and attributes come from the object's metadata (a HEAD), not from the listing alone. */
  described?: boolean;
  /**
   * The attributes are the listing's and the defaults: the object's metadata was not read (over
   * the source's HEAD limit). The cache fetches them later (remote-attrs.ts).
   */
  attributesPending?: boolean;
}

export interface RemoteListing {
  entries: RemoteEntry[];
  /** The directory's own marker (key "dir/"), when there is one: its attributes. */
  self?: RemoteEntry;
  /** Keys under the directory that cannot be file names (a//b, '.', '..', > 255 bytes), or clash. */
  skipped: number;
}

/** What the cache holds at a key, for a listing to decide what needs a HEAD. */
export interface KnownObject {
  /** The ETag it knows (absent for an implicit directory). */
  etag?: string;
  /** The LastModified the last listing showed (RemoteEntry.modifiedMs), if recorded. */
  modifiedMs?: number;
  /** Wall-clock ms of the last import or upload of it. */
  syncedAt?: number;
  /** Its attributes were never read from the object's metadata. */
  attributesPending?: boolean;
}

/**
 * Whether a listed entry's attributes still have to be read (a HEAD): new, changed, never
 * described, or (same ETag) modified after what the cache knows: a metadata-only change. A
 * LastModified never recorded (our own upload) counts as known if it is not after the cache's
 * last upload or import of the object. Asked when the listing is parsed and again when it is
 * merged: a HEAD that answered in between has already read them.
 */
export function attributesUnread(e: RemoteEntry, known: KnownObject | undefined): boolean {
  if (e.type === 'dir' && e.name !== '') return known === undefined || known.attributesPending === true;
  if (known === undefined || known.etag !== e.etag || known.attributesPending) return true;
  if (e.modifiedMs === undefined) return false;
  return known.modifiedMs !== undefined ? known.modifiedMs !== e.modifiedMs : e.modifiedMs > (known.syncedAt ?? 0);
}

export interface ListHints {
  /**
   * What the cache holds at a child key (rkey): undefined if nothing. Unchanged entries (same
   * ETag, same LastModified, attributes read) need no HEAD.
   */
  known(rkey: string): KnownObject | undefined;
}

export interface RemoteSource {
  /** Lists the direct children of directory `dirKey` ("" or ending in '/'), all pages. */
  listDirectory(dirKey: string, hints: ListHints): Promise<RemoteListing>;
  /**
   * Optional: the entry for object `rkey` (a directory: its marker) with the attributes from its
   * metadata, described; undefined if it is gone (an implicit directory: undefined too).
   */
  describe?(rkey: string): Promise<RemoteEntry | undefined>;
  /**
   * Optional: the whole object `rkey` pinned to `etag`, with the attributes its metadata gives
   * (a GET returns what a HEAD would: a small file imported this way needs no HEAD); undefined
   * if it changed or is gone.
   */
  readObject?(rkey: string, etag: string): Promise<{ entry: RemoteEntry; data: Buffer } | undefined>;
  /** Bytes [offset, offset + length) of object `rkey`, pinned to `etag`: RemoteGoneError if it changed. */
  readRange(rkey: string, etag: string, offset: number, length: number): Promise<Buffer>;
}

/** The object is missing or no longer has the ETag the cache knew. */
export class RemoteGoneError extends Error {
  constructor(readonly rkey: string, message: string, options?: { cause?: unknown }) {
    super(`${rkey}: ${message}`, options);
    this.name = 'RemoteGoneError';
  }
}

/**
 * The bucket could not be reached or asked us to slow down, and the source's retries ran out:
 * a later try may succeed (the cache answers "try again later", not an I/O error).
 */
export class RemoteUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RemoteUnavailableError';
  }
}

/** Attributes for objects that carry none. */
export interface VolumeDefaults {
  uid: number;
  gid: number;
  fileMode: number;
  dirMode: number;
}

export interface LinkOptions {
  source: RemoteSource;
  /** What the cache is linked to (e.g. "s3://bucket/prefix/"); a cache dir is never relinked elsewhere. */
  linkId: string;
  /** A listed directory is listed again when looked up after this long (default 30 s). */
  dirTtlMs?: number;
  /** Unit of ranged GETs and of presence tracking (default 1 MiB). */
  blockSize?: number;
  /** Most bytes fetched ahead of a sequential reader (default 16 MiB). */
  readAheadBytes?: number;
  /**
   * Files up to this size are fetched in the background when their directory's listing first
   * shows them (DESIGN.md decision 7; default 0: none).
   */
  prefetchBytes?: number;
  /**
   * Import rules (import-rules.ts): which small files are fetched whole, and when. Given, they
   * replace `prefetchBytes` (which stands for one rule: '' below prefetchBytes + 1, 'directory').
   */
  importRules?: ImportRule[];
  /** Attribute reads and whole-file imports in flight at once (default 32; the store may cap lower). */
  importConcurrency?: number;
  /** Bytes of whole-file imports held in memory at once (default 32 MiB). */
  importMemoryBytes?: number;
  /**
   * Longest a client call waits on the bucket (a first listing, attributes not read yet) before
   * it answers EJUKEBOX ("try again later"); the work goes on in the background (default 10 s).
   */
  remoteWaitMs?: number;
  /** Clean cached file data above this is evicted, least recently used first (default unlimited). */
  cacheSizeBytes?: number;
  /** A cache size shared with other caches on the same disk (cache-budget.ts), on top of cacheSizeBytes. */
  cacheBudget?: SharedCacheBudget;
  defaults?: Partial<VolumeDefaults>;
  /** Wall clock in ms, for listing ages (tests move it). */
  nowMs?: () => number;
}

/** Names at the root that are ours, never imported from or synced to the bucket (meta/schema.ts). */
export { LOST_FOUND, RESERVED_ROOT_NAMES } from '../meta/schema';

export function childKey(dirKey: string, name: string, isDir: boolean): string {
  return `${dirKey}${name}${isDir ? '/' : ''}`;
}

export function isDirKey(rkey: string): boolean {
  return rkey === '' || rkey.endsWith('/');
}
