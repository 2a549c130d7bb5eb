// The shapes of the records a linked cache keeps in LMDB beside the inodes (the databases
// remote, tombstones and blocks of metadata-store.ts). Plain data, no logic: the store, the
// mutation that keeps them in step and the linked part (link/) all read them.

export interface RemoteState {
  /** Where this inode's content lives in the bucket now (rkey); absent: never uploaded. */
  key?: string;
  /** ETag of the object at `key` (directories: of the marker, absent when implicit). */
  etag?: string;
  /** Size of the object at `key`. */
  size?: number;
  /**
   * Bytes [0, backLen) of the file whose blocks are not present locally come from the object
   * at key/etag; blocks past it are local (holes read as zeros). Never more than the file size.
   */
  backLen: number;
  /** dataVersion / metaVersion of the inode that the object at `key` reflects. */
  syncedData: number;
  syncedMeta: number;
  /** Wall-clock ms of the last import or upload: a listing begun before it is not applied to it. */
  syncedAt: number;
  /** The object's LastModified as last listed (RemoteEntry.modifiedMs). */
  modifiedMs?: number;
  /** Attributes from a listing only, the object's metadata not read yet (remote-attrs.ts). */
  attributesPending?: boolean;
  /** Directories: wall-clock ms of the last listing applied. */
  listedAt?: number;
  /** A multipart upload in flight (aborted by the reconciler after a crash). */
  uploadId?: string;
  /**
   * Keys other than `key` where an upload of this inode may have landed without being recorded
   * (a kill, a request that failed after the server stored it) before the inode moved away from
   * them. Each becomes a tombstone that deletes only an object carrying this inode's upload
   * token, once the content is recorded elsewhere (or the inode is gone).
   */
  strays?: string[];
}

/** A key to delete from the bucket: its inode is gone (or moved away from it). */
export interface Tombstone {
  /** The ETag the cache last knew there: a different object is someone else's and stays. */
  etag?: string;
  /** Wall-clock ms when recorded. */
  at: number;
  /**
   * The upload token of the inode that left the key: an object carrying it is ours too (an
   * upload a crash kept from being recorded), whatever its ETag. Without `etag`, only such an
   * object is deleted.
   */
  token?: string;
}

/**
 * Per regular file: which blocks below RemoteState.backLen are present locally (blocks past it
 * always are), and which blocks were changed since the last upload (the rest can be copied
 * from the object server-side).
 */
export interface BlockMapRecord {
  present: Buffer;
  dirty: Buffer;
  /** Every block from this one on counts as changed (a truncate; after a crash: 0). */
  dirtyFrom?: number;
}

/**
 * Names at the root that are ours, never imported from or synced to the bucket: what is under
 * them is local only (the mutation does not queue it for upload).
 */
export const LOST_FOUND = '.s3files-lost+found';
export const RESERVED_ROOT_NAMES: ReadonlySet<string> = new Set([LOST_FOUND, '.s3files-probe', '.s3files-tmp']);

/**
 * An inode that cannot be in the bucket under its name, recorded once (the reconciler does
 * not retry it) until a rename changes its key. PathTooLong: the key would be longer than
 * S3's 1,024 bytes (the POSIX path is fine locally).
 */
export interface Unsyncable {
  reason: 'PathTooLong';
  /** The key it would have (cache-relative), and the bytes of the full bucket key. */
  key: string;
  keyBytes: number;
  /** Wall-clock ms when recorded. */
  at: number;
}
