// What a linked cache remembers about the remote side, per inode and per key (LMDB, see
// metadata-store.ts): the record keeping inside a transaction. The records' shapes are in
// schema.ts. The reconciler decides what to send by comparing an inode's versions and
// path with its RemoteState; the importer decides what to take by comparing listings with it.
import type { MetadataStore } from './metadata-store';
import type { RemoteState, Tombstone } from './schema';

export type { BlockMapRecord, RemoteState, Tombstone } from './schema';

/**
 * Inside a transaction: replaces the RemoteState of `ino`, keeping the rkeys index
 * (key → inode) in step. `next` undefined forgets the inode's remote side.
 */
export function putRemote(m: { readonly store: MetadataStore }, ino: number, next: RemoteState | undefined): void {
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
 * In a transaction: the listing of directory `dir` (remote state `rs`) is stale, so its next
 * lookup lists it again. False if it was never listed, or is marked stale already.
 */
export function markListingStale(store: MetadataStore, dir: number, rs: RemoteState | undefined = store.remote.get(dir)): boolean {
  if (rs?.listedAt === undefined || rs.listedAt === 0) return false;
  store.remote.putSync(dir, { ...rs, listedAt: 0 });
  return true;
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
