// What the reconciler (pkg/reconcile) sees of a linked cache: the persistent upload queue
// (pending inodes and tombstones), consistent snapshots of what to upload, reads of file
// contents (fetching what is not local), and the transactions that record an upload, a
// directory move or a conflict. The reconciler owns the bucket; this module owns the records.
import { FsError, type FileType, type Timestamp } from '../../vfs';
import type { ChangeListener, FsCore } from '../core/core';
import { findEntry } from '../meta/directory';
import type { FileState } from '../core/file-state';
import { ROOT_INO } from '../meta/inode';
import type { LinkContext, UploadWatch } from './link-context';
import { quarantine } from './lost-found';
import { clearUnsyncable, countUnsyncable, dropTooLong, listUnsyncable, markUnsyncable, requeue, type UnsyncableEntry } from './unsyncable';
import { desiredKey } from './paths';
import { addTombstone, localOnly, putRemote, tombstoneStrays, uploadTokenOf } from '../meta/remote-state';
import type { RemoteState, Tombstone, Unsyncable } from '../meta/schema';

export interface SyncSnapshot {
  ino: number;
  type: FileType;
  /** The key the inode belongs at now; undefined when it is not to be in the bucket (lost+found). */
  desiredKey?: string;
  remote: RemoteState;
  pending: boolean;
  dataVersion: number;
  metaVersion: number;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: Timestamp;
  target?: string;
  /** No WRITE in flight when the snapshot was taken. */
  quiet: boolean;
  state?: FileState;
  writesStarted: number;
}

export interface UploadResult {
  key: string;
  etag: string;
  size: number;
}

function* keysUnder<V>(db: { getRange(o: { start: string }): Iterable<{ key: string; value: V }> }, prefix: string): Generator<[string, V]> {
  for (const { key, value } of db.getRange({ start: prefix })) {
    if (!key.startsWith(prefix)) return;
    yield [key, value];
  }
}

export class CacheSync {
  constructor(
    private readonly core: FsCore,
    private readonly link: LinkContext,
  ) {}

  get blockSize(): number {
    return this.link.blockSize;
  }

  onChange(listener: ChangeListener): () => void {
    return this.core.onChange(listener);
  }

  pendingInodes(): number[] {
    return Array.from(this.core.store.pending.getKeys({}));
  }

  isPending(ino: number): boolean {
    return this.core.store.pending.get(ino) !== undefined;
  }

  tombstones(): Array<[string, Tombstone]> {
    return Array.from(this.core.store.tombstones.getRange({}), ({ key, value }) => [key, value]);
  }

  tombstone(rkey: string): Tombstone | undefined {
    return this.core.store.tombstones.get(rkey);
  }

  tombstonesUnder(prefix: string): Array<[string, Tombstone]> {
    return Array.from(keysUnder(this.core.store.tombstones, prefix));
  }

  /** True if a deletion is queued for some key under `prefix`. */
  hasTombstonesUnder(prefix: string): boolean {
    for (const _ of keysUnder(this.core.store.tombstones, prefix)) return true;
    return false;
  }

  /** The inode whose content is at `rkey` now, if any. */
  ownerOf(rkey: string): number | undefined {
    return this.core.store.rkeys.get(rkey);
  }

  ownersUnder(prefix: string): Array<[string, number]> {
    return Array.from(keysUnder(this.core.store.rkeys, prefix));
  }

  /** The inode at the path `rkey` names now (by name, whatever its remote state), if any. */
  inodeAt(rkey: string): number | undefined {
    const isDir = rkey.endsWith('/');
    const names = (isDir ? rkey.slice(0, -1) : rkey).split('/');
    let ino = ROOT_INO;
    if (rkey === '') return ino;
    for (const name of names) {
      const entry = findEntry(this.core.store, ino, name);
      if (!entry) return undefined;
      ino = entry.ino;
    }
    const type = this.core.inodes.get(ino)?.type;
    return type !== undefined && (type === 'dir') === isDir ? ino : undefined;
  }

  desiredKey(ino: number): string | undefined {
    return desiredKey(this.core.store, this.core.inodes, ino);
  }

  /** A consistent view of one inode (synchronous: nothing changes while it is taken). */
  snapshot(ino: number): SyncSnapshot | undefined {
    const rec = this.core.inodes.get(ino);
    if (!rec) return undefined;
    const st = this.core.states.peek(ino);
    return {
      ino,
      type: rec.type,
      desiredKey: this.desiredKey(ino),
      remote: this.link.remoteOf(ino) ?? localOnly(),
      pending: this.isPending(ino),
      dataVersion: rec.dataVersion,
      metaVersion: rec.metaVersion,
      size: rec.size,
      mode: rec.mode,
      uid: rec.uid,
      gid: rec.gid,
      mtime: rec.mtime,
      target: rec.target,
      quiet: !st || st.inflight === 0,
      state: st,
      writesStarted: st?.writesStarted ?? 0,
    };
  }

  /** True if a block in [first, last] was written since the last upload. */
  anyDirty(ino: number, first: number, last: number): boolean {
    return this.link.blocks.get(ino).anyDirty(first, last + 1);
  }

  /**
   * Bytes [offset, offset + length) of a file as it is now, fetching what is not local (zeros
   * past the end). EIO if a remote-backed part can no longer be fetched.
   */
  async read(ino: number, offset: number, length: number): Promise<Buffer> {
    return this.core.states.get(ino).lock.shared(async () => {
      if (!this.core.inodes.get(ino)) throw new FsError('ESTALE', `inode ${ino} is gone`);
      await this.link.fetcher.ensure(ino, offset, offset + length, { fromUpload: true });
      const data = await this.core.data.read(ino, offset, length);
      return data.length === length ? data : Buffer.concat([data, Buffer.alloc(length - data.length)]);
    });
  }

  /** An upload of `ino` to `key` starts (see LinkContext: a crash may leave it unrecorded). */
  beginUpload(ino: number, size: number, key?: string): UploadWatch {
    return this.link.beginUpload(ino, size, key);
  }

  /** Records (or clears) a multipart upload in flight, so that a crash does not leak it. */
  async setUploadId(ino: number, uploadId: string | undefined): Promise<void> {
    await this.core.mutate((m) => {
      const rs = m.store.remote.get(ino);
      if (rs || uploadId) m.store.remote.putSync(ino, { ...(rs ?? localOnly()), uploadId });
    }, { quiet: true });
  }

  /**
   * The token this inode's uploads carry in their metadata: this cache, the inode and its
   * generation. After a crash, an object at the inode's key carrying it is our own upload whose
   * record was lost, not a conflict.
   */
  uploadToken(ino: number): string {
    return uploadTokenOf(this.core.store, ino, this.core.inodes.get(ino)?.gen ?? 0);
  }

  /**
   * Our own upload to the inode's key landed before a crash and was never recorded: its object
   * (`etag`, `size`) holds the same bytes as the one it replaced below backLen, so blocks not
   * present locally are fetched from it from now on.
   */
  async adoptOwnWrite(ino: number, key: string, etag: string, size: number): Promise<void> {
    await this.core.mutate((m) => {
      const rs = m.store.remote.get(ino);
      if (rs?.key === key) m.store.remote.putSync(ino, { ...rs, etag, size, backLen: Math.min(rs.backLen, size) });
    }, { quiet: true });
  }

  /** Multipart uploads recorded by an earlier process: [ino, key, uploadId]. */
  leftoverUploads(): Array<[number, string]> {
    const out: Array<[number, string]> = [];
    for (const ino of this.pendingInodes()) {
      const id = this.link.remoteOf(ino)?.uploadId;
      if (id) out.push([ino, id]);
    }
    return out;
  }

  /**
   * The object at `result.key` now holds what `snap` described. Records key, ETag and the
   * synced versions; the old key (a move) gets a tombstone; the tombstone at the new key (the
   * object this one replaced on purpose) goes. The inode leaves the queue only if nothing
   * changed since the snapshot. If the inode is gone meanwhile, the new object is orphaned
   * and gets a tombstone itself. Keys where an earlier upload of it may have landed unrecorded
   * (strays) get token tombstones: its content is recorded here now.
   */
  async commitUpload(snap: SyncSnapshot, result: UploadResult, watch?: UploadWatch): Promise<void> {
    const blocks = this.link.blocks;
    const unrecorded = this.link.recorded(snap.ino);
    await this.core.mutate((m) => {
      const rec = m.find(snap.ino);
      const store = m.store;
      const stamp = this.link.nowMs();
      store.tombstones.removeSync(result.key);
      if (!rec) {
        store.tombstones.putSync(result.key, { etag: result.etag, at: stamp });
        return;
      }
      const rs = store.remote.get(snap.ino) ?? localOnly();
      const token = uploadTokenOf(store, snap.ino, rec.gen);
      if (rs.key !== undefined && rs.key !== result.key && store.rkeys.get(rs.key) === snap.ino) {
        // The token: an upload of ours there that a crash kept from being recorded goes too.
        addTombstone(store, rs.key, { etag: rs.etag, at: stamp, token });
      }
      const desired = this.desiredKey(snap.ino);
      const strays = new Set([...(rs.strays ?? []), ...unrecorded]);
      strays.delete(result.key);
      if (desired !== undefined) strays.delete(desired); // the key it goes to: its own upload's business
      tombstoneStrays(store, { ...rs, strays: Array.from(strays) }, result.key, token, stamp);
      const backLen = Math.min(rs.backLen, watch?.minSize ?? rec.size, rec.size, result.size);
      // A directory made here has nothing in the bucket that the cache does not know: it counts
      // as listed from its first upload on (an outage does not make it unusable).
      const listedAt = rs.listedAt ?? (rec.type === 'dir' && rs.key === undefined ? stamp : undefined);
      putRemote(m, snap.ino, {
        key: result.key, etag: result.etag, size: result.size, backLen,
        syncedData: snap.dataVersion, syncedMeta: snap.metaVersion, syncedAt: stamp, listedAt,
      });
      if (strays.size > 0) this.core.log.info('earlier unrecorded uploads to be deleted', { ino: snap.ino, keys: Array.from(strays).slice(0, 5) });
      const st = this.core.states.peek(snap.ino);
      const noWrites = snap.quiet && (!st || (st.inflight === 0 && (st !== snap.state || st.writesStarted === snap.writesStarted)));
      const unchanged = noWrites && rec.dataVersion === snap.dataVersion;
      if (unchanged && rec.type === 'file') {
        blocks.clearDirty(snap.ino);
        blocks.saveInTxn(m, snap.ino);
      }
      const settled = unchanged && rec.metaVersion === snap.metaVersion && this.desiredKey(snap.ino) === result.key;
      if (settled) store.pending.removeSync(snap.ino);
      else store.pending.putSync(snap.ino, 1);
    }, { quiet: true });
  }

  /** Nothing to upload for `ino` (already in step, or not to be uploaded): it leaves the queue. */
  async settle(snap: SyncSnapshot): Promise<boolean> {
    return this.core.mutate((m) => {
      const rec = m.find(snap.ino);
      if (rec && (rec.dataVersion !== snap.dataVersion || rec.metaVersion !== snap.metaVersion)) return false;
      m.store.pending.removeSync(snap.ino);
      const rs = m.store.remote.get(snap.ino);
      if (rec && rs?.strays) {
        // In step (or out of the bucket): earlier unrecorded uploads elsewhere are not wanted.
        tombstoneStrays(m.store, rs, rs.key, uploadTokenOf(m.store, snap.ino, rec.gen), this.link.nowMs());
        m.store.remote.putSync(snap.ino, { ...rs, strays: undefined });
      }
      return true;
    }, { quiet: true });
  }

  /** The tombstone at `rkey` is done (deleted from the bucket, or the key is someone else's). */
  async dropTombstone(rkey: string, expected: Tombstone): Promise<void> {
    await this.dropTombstones([[rkey, expected]]);
  }

  /** Several at once, in one transaction (each only if it is still the one given). */
  async dropTombstones(done: Array<[string, Tombstone]>): Promise<void> {
    if (done.length === 0) return;
    for (const [rkey] of done) this.link.importer.noteDeleted(rkey);
    await this.core.mutate((m) => {
      for (const [rkey, expected] of done) {
        const t = m.store.tombstones.get(rkey);
        if (t && t.at === expected.at && t.etag === expected.etag) m.store.tombstones.removeSync(rkey);
      }
    }, { quiet: true });
  }

  /**
   * A directory's objects were copied from prefix `from` to `to`: every inode whose content
   * was under `from` now has it under `to` (ETags of the copies given), and each old key gets a
   * tombstone with the ETag it had. An old key that got a tombstone while the copies ran (its
   * file was removed meanwhile) has its copy deleted too.
   */
  async movePrefix(from: string, to: string, copied: Array<{ oldKey: string; oldEtag: string; etag: string }>): Promise<void> {
    const etags = new Map(copied.map((c) => [c.oldKey, c.etag]));
    await this.core.mutate((m) => {
      const stamp = this.link.nowMs();
      for (const [key, ino] of Array.from(keysUnder(m.store.rkeys, from))) {
        const rs = m.store.remote.get(ino);
        if (!rs) continue;
        const moved = to + key.slice(from.length);
        putRemote(m, ino, { ...rs, key: moved, etag: etags.get(key) ?? rs.etag, syncedAt: stamp });
      }
      for (const c of copied) {
        if (m.store.rkeys.get(c.oldKey) !== undefined) continue;
        const newKey = to + c.oldKey.slice(from.length);
        if (m.store.tombstones.get(c.oldKey) !== undefined && m.store.rkeys.get(newKey) === undefined) {
          m.store.tombstones.putSync(newKey, { etag: c.etag, at: stamp });
        }
        m.store.tombstones.putSync(c.oldKey, { etag: c.oldEtag, at: stamp });
      }
    }, { quiet: true });
  }

  /** See lost-found.ts. Fetches what it can of the file first, so the kept copy is whole. */
  async quarantine(ino: number, key: string, tombstoneOldKey: boolean): Promise<string | undefined> {
    const rec = this.core.inodes.get(ino);
    if (rec?.type === 'file') await this.read(ino, 0, rec.size).catch(() => undefined);
    return quarantine(this.core, ino, key, tombstoneOldKey);
  }

  /** See unsyncable.ts: recorded once, out of the upload queue; true when newly recorded. */
  markUnsyncable(snap: SyncSnapshot, record: Unsyncable): Promise<boolean> {
    return markUnsyncable(this.core, snap.ino, record, snap);
  }

  /** See unsyncable.ts. Fetches the whole file first: its object is deleted after. */
  async dropTooLong(ino: number, oldKey: string, record: Unsyncable): Promise<void> {
    const rec = this.core.inodes.get(ino);
    if (rec?.type === 'file') await this.read(ino, 0, rec.size);
    await dropTooLong(this.core, ino, oldKey, record, this.link.nowMs());
  }

  clearUnsyncable(ino: number): Promise<void> {
    return clearUnsyncable(this.core, ino);
  }

  requeue(ino: number): Promise<void> {
    return requeue(this.core, ino);
  }

  unsyncable(limit?: number): UnsyncableEntry[] {
    return listUnsyncable(this.core, limit);
  }

  markStale(ino: number): void {
    this.link.importer.markStale(ino);
  }

  /** Where one inode stands (for `s3files status PATH`). */
  fileStatus(ino: number): { type: FileType; size: number; cachedBytes: number; key?: string; remoteKey?: string; etag?: string; inBucket: boolean; pending: boolean; syncedAt?: string; unsyncable?: Unsyncable } | undefined {
    const rec = this.core.inodes.get(ino);
    if (!rec) return undefined;
    const rs = this.link.remoteOf(ino);
    const pending = this.isPending(ino);
    const key = this.desiredKey(ino);
    return {
      type: rec.type,
      size: rec.size,
      cachedBytes: rec.type === 'file' ? rec.used : 0,
      key,
      remoteKey: rs?.key,
      etag: rs?.etag,
      inBucket: !pending && rs?.key !== undefined && rs.key === key,
      pending,
      syncedAt: rs?.syncedAt ? new Date(rs.syncedAt).toISOString() : undefined,
      unsyncable: this.core.store.unsyncable.get(ino),
    };
  }

  /** Queue sizes for status pages: pending inodes, bytes of pending files, tombstones. */
  stats(): { pendingFiles: number; pendingBytes: number; tombstones: number; unsyncable: number } {
    let pendingFiles = 0;
    let pendingBytes = 0;
    for (const ino of this.core.store.pending.getKeys({})) {
      pendingFiles++;
      const rec = this.core.inodes.get(ino);
      if (rec?.type === 'file') pendingBytes += rec.size;
    }
    return { pendingFiles, pendingBytes, tombstones: this.core.store.tombstones.getCount(), unsyncable: countUnsyncable(this.core) };
  }

  /** Resolves once no directory listing is running (one started in the background included). */
  listingsIdle(): Promise<void> {
    return this.link.importer.idle();
  }

  /** Resolves once no listing runs and nothing is queued for import (attributes, small files). */
  async importsIdle(): Promise<void> {
    await this.link.importer.idle();
    await this.link.imports.idle();
  }

  /** Fetch and import counters, for metrics. */
  counters(): {
    fetchedBytes: number; fetchRequests: number; streamedBytes: number; streams: number; streamParts: number; peakStreamParts: number;
    listings: number; skippedKeys: number; attributeReads: number; wholeImports: number; evictedFiles: number; evictedBytes: number;
  } {
    const { fetcher, importer, evictor, streamer, imports } = this.link;
    return {
      fetchedBytes: fetcher.fetchedBytes,
      fetchRequests: fetcher.fetchRequests,
      streamedBytes: streamer.streamedBytes,
      streams: streamer.streamsOpened,
      streamParts: streamer.partRequests,
      peakStreamParts: streamer.peakPartsInFlight,
      listings: importer.listings,
      skippedKeys: importer.skippedKeys,
      attributeReads: imports.reads,
      wholeImports: imports.wholeFetches,
      evictedFiles: evictor.evictedFiles,
      evictedBytes: evictor.evictedBytes,
    };
  }
}
