// What a linked cache remembers about the remote side, per inode and per key (LMDB, see
// metadata-store.ts). The reconciler decides what to send by comparing an inode's versions and
// path with its RemoteState; the importer decides what to take by comparing listings with it.
import type { MetadataStore } from './metadata-store';
import type { Mutation } from './mutation';

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
 * Inside a transaction: replaces the RemoteState of `ino`, keeping the rkeys index
 * (key → inode) in step. `next` undefined forgets the inode's remote side.
 */
export function putRemote(m: Mutation, ino: number, next: RemoteState | undefined): void {
  const store = m.store;
  const prev = store.remote.get(ino);
  if (prev?.key !== undefined && prev.key !== next?.key && store.rkeys.get(prev.key) === ino) store.rkeys.removeSync(prev.key);
  if (next === undefined) {
    store.remote.removeSync(ino);
    return;
  }
  store.remote.putSync(ino, next);
  if (next.key !== undefined) store.rkeys.putSync(next.key, ino);
}

/**
 * The token an inode's uploads carry in their metadata: this cache, the inode and its
 * generation. An object carrying it was written by us for that inode.
 */
export function uploadTokenOf(store: MetadataStore, ino: number, gen: number): string {
  return `${store.settings.get('cacheId') ?? 'cache'}.${ino}.${gen}`;
}

/**
 * Inside a transaction: queues the deletion of `rkey` (the object with `etag`, or any object
 * carrying `token`). An existing tombstone there keeps its ETag and gains the token.
 */
export function addTombstone(store: MetadataStore, rkey: string, t: Tombstone): void {
  const old = store.tombstones.get(rkey);
  if (t.etag === undefined && t.token === undefined) {
    store.tombstones.putSync(rkey, { at: t.at }); // whatever is there (an implicit directory's key)
    return;
  }
  store.tombstones.putSync(rkey, { etag: t.etag ?? (t.token !== undefined ? old?.etag : undefined), at: t.at, token: t.token ?? old?.token });
}

/**
 * Inside a transaction, when the inode's content is recorded at `key` (undefined: it is gone
 * or out of the bucket): every stray key other than that gets a token-only tombstone.
 */
export function tombstoneStrays(store: MetadataStore, rs: RemoteState | undefined, key: string | undefined, token: string, at: number): void {
  for (const stray of rs?.strays ?? []) if (stray !== key) addTombstone(store, stray, { at, token });
}

/** A RemoteState for an inode that has never been uploaded. */
export function localOnly(): RemoteState {
  return { backLen: 0, syncedData: 0, syncedMeta: 0, syncedAt: 0 };
}
