// Lazy import: a directory of a linked cache is listed from the bucket the first time it is
// looked up or read, and again once its listing is older than the TTL. A listing is merged in
// one transaction, as a change that comes from the bucket (nothing is queued for upload):
//   - a new key becomes a new inode with the object's attributes, its content remote-backed;
//   - a key whose inode is clean and whose ETag changed gets the new size and attributes, and
//     its cached data is dropped (under the file's exclusive lock, after the merge);
//   - a key whose ETag is the same but whose LastModified moved was HEADed by the source (a
//     metadata-only change, e.g. chmod by s3fs): the clean inode gets the new attributes;
//   - entries whose metadata the source did not read (over its HEAD limit) are read later by
//     remote-attrs.ts;
//   - a clean inode whose key is gone is removed (a directory only with a clean subtree).
// Local changes always win: an inode with pending uploads, one created here and not uploaded
// yet, one being moved (its key held by another path) or one uploaded after the listing began
// is left alone; a name deleted here whose tombstone is still queued is not resurrected.
// A conflicting upload is the reconciler's to detect (conditional writes, sync-api.ts).
import { FsError } from '../../vfs';
import { describeError } from '../../log/logger';
import type { FsCore } from '../core/core';
import { addEntry, findEntry, linksOf, listEntries, removeEntry } from '../meta/directory';
import { ROOT_INO, type InodeRecord } from '../meta/inode';
import type { LinkView } from './link-view';
import type { Mutation } from '../meta/mutation';
import { touchDir } from '../ops/create';
import { attributesUnread, childKey, isDirKey, RESERVED_ROOT_NAMES, type RemoteEntry, type RemoteListing } from './remote';
import { applyAttributes, sameAttributes } from './remote-attrs';
import { markListingStale, putRemote, type RemoteState } from '../meta/remote-state';
import { remoteFailure, withinWait } from './remote-wait';

interface ContentChange {
  ino: number;
  /** The ETag the cache held when the listing was merged. */
  etag: string | undefined;
  entry: RemoteEntry;
}

/** A directory whose re-listing failed is not listed again in the background before this. */
const RETRY_AFTER_FAILURE_MS = 5000;

/** How long a deleted key is remembered, so a listing begun before the DELETE does not bring it back. */
const DELETED_MEMORY_MS = 10 * 60_000;

export class Importer {
  private readonly listing = new Map<number, Promise<void>>();
  /** Directories whose last listing failed, and when (ms): background retries wait a little. */
  private readonly failedAt = new Map<number, number>();
  private closed = false;
  /** Keys the reconciler deleted from the bucket, and when (wall-clock ms). */
  private readonly deleted = new Map<string, number>();
  skippedKeys = 0;
  listings = 0;

  constructor(
    private readonly core: FsCore,
    private readonly link: LinkView,
  ) {}

  /**
   * Makes `dirIno` reflect the bucket, as far as a client call needs it:
   * - never listed: waits for its listing, at most remoteWaitMs (then EJUKEBOX, the listing going
   *   on in the background); a failed listing is EJUKEBOX when the bucket is unreachable, EIO
   *   otherwise (ENOSPC when the cache disk is too full to record it);
   * - 'ttl', listed but older than the TTL: answers from the cached listing at once and lists
   *   again in the background (changes are applied when that listing arrives);
   * - 'fresh', listed but older than the TTL: waits for the new listing (bounded as above),
   *   serving the cached one if it fails or is late (RMDIR and RENAME over a directory: empty
   *   here should mean empty in the bucket);
   * - 'once': a listing of any age will do.
   * A directory made here is listed from its upload on (sync-api.ts): nothing to fetch.
   */
  async ensureListed(dirIno: number, mode: 'ttl' | 'fresh' | 'once' = 'ttl'): Promise<void> {
    const rs = this.link.remoteOf(dirIno);
    if (!rs || rs.key === undefined || !isDirKey(rs.key)) return; // made here, not uploaded yet
    const listed = rs.listedAt !== undefined;
    if (listed && (mode === 'once' || this.link.nowMs() - rs.listedAt! < this.link.dirTtlMs)) return;
    // listedAt 0: marked stale because the cache knows the bucket changed there (markStale).
    if (listed && mode === 'ttl' && rs.listedAt !== 0) {
      this.revalidate(dirIno, rs.key);
      return;
    }
    const p = this.startListing(dirIno, rs.key);
    try {
      await withinWait(p, this.link.remoteWaitMs, `listing directory ${dirIno}`);
    } catch (err) {
      if (!listed) throw remoteFailure(err, `listing directory ${dirIno}`);
      if (err instanceof FsError && err.code !== 'EIO' && err.code !== 'EJUKEBOX') throw err;
      // The cached listing answers; a failure is logged by the listing itself.
    }
  }

  /** Starts the first listing of `dirIno` in the background (nothing if listed or listing). */
  listAhead(dirIno: number): void {
    const rs = this.link.remoteOf(dirIno);
    if (!rs || rs.key === undefined || !isDirKey(rs.key) || rs.listedAt !== undefined || this.listing.has(dirIno)) return;
    this.startListing(dirIno, rs.key).catch(() => undefined);
  }

  /** Resolves once no listing is running (tests, and a clean shutdown). */
  async idle(): Promise<void> {
    while (this.listing.size > 0) await Promise.allSettled(Array.from(this.listing.values()));
  }

  /** No listing is merged from now on (the file system is closing). */
  close(): void {
    this.closed = true;
  }

  /** Starts a background re-listing of a listed directory, unless one runs or one failed lately. */
  private revalidate(dirIno: number, dirKey: string): void {
    if (this.listing.has(dirIno)) return;
    const failed = this.failedAt.get(dirIno);
    if (failed !== undefined && this.link.nowMs() - failed < RETRY_AFTER_FAILURE_MS) return;
    this.startListing(dirIno, dirKey).catch(() => undefined);
  }

  /** The listing of `dirIno` in flight, or a new one. A failure is logged here, once. */
  private startListing(dirIno: number, dirKey: string): Promise<void> {
    let p = this.listing.get(dirIno);
    if (!p) {
      p = this.listUntilSettled(dirIno, dirKey).then(
        () => void this.failedAt.delete(dirIno),
        (err: unknown) => {
          this.failedAt.set(dirIno, this.link.nowMs());
          if (this.failedAt.size > 10_000) this.failedAt.clear();
          const listed = this.link.remoteOf(dirIno)?.listedAt !== undefined;
          this.core.log.warn(listed ? 'listing the bucket failed; serving the cached listing' : 'listing the bucket failed', { dir: dirIno, dirKey, err: describeError(err) });
          throw err;
        },
      ).finally(() => this.listing.delete(dirIno));
      this.listing.set(dirIno, p);
    }
    return p;
  }

  /** The reconciler deleted `rkey` from the bucket (its tombstone is gone from now on). */
  noteDeleted(rkey: string): void {
    const now = this.link.nowMs();
    this.deleted.set(rkey, now);
    if (this.deleted.size > 10_000) {
      for (const [k, at] of this.deleted) if (now - at > DELETED_MEMORY_MS) this.deleted.delete(k);
    }
  }

  /** The directories holding `ino` are listed again at their next lookup, which waits for it. */
  markStale(ino: number): Promise<void> {
    const dirs = linksOf(this.core.store, ino).map((l) => l.dir);
    return this.core
      .mutate((m) => {
        for (const dir of dirs) markListingStale(m.store, dir);
      }, { quiet: true })
      .catch((err: unknown) => void this.core.log.warn('could not mark a listing stale', { ino, err: String(err) }));
  }

  /**
   * A directory move recorded while the listing ran changes the directory's key, and the
   * listing of the old one is dropped: listed again under the new key, so that the lookup
   * waiting for it does not find the directory empty (a few times at most).
   */
  private async listUntilSettled(dirIno: number, dirKey: string): Promise<void> {
    for (let key = dirKey, attempt = 0; ; attempt++) {
      await this.listAndMerge(dirIno, key);
      const rs = this.link.remoteOf(dirIno);
      if (attempt >= 3 || !rs || rs.listedAt !== undefined || rs.key === undefined || rs.key === key || !isDirKey(rs.key)) return;
      key = rs.key;
    }
  }

  private async listAndMerge(dirIno: number, dirKey: string): Promise<void> {
    const t0 = this.link.nowMs();
    const store = this.core.store;
    const listing = await this.link.source.listDirectory(dirKey, {
      known: (rkey) => {
        const owner = store.rkeys.get(rkey);
        const rs = owner === undefined ? undefined : store.remote.get(owner);
        return rs && { etag: rs.etag, modifiedMs: rs.modifiedMs, syncedAt: rs.syncedAt, attributesPending: rs.attributesPending };
      },
    });
    this.listings++;
    if (this.closed) return;
    const listedMs = this.link.nowMs() - t0;
    if (listing.skipped > 0) {
      this.skippedKeys += listing.skipped;
      this.core.log.warn('keys that cannot be file names were skipped', { dirKey, skipped: listing.skipped });
    }
    const created: number[] = [];
    const unread: number[] = [];
    const changed = await this.core.mutate((m) => this.merge(m, dirIno, dirKey, listing, t0, created, unread), { quiet: true });
    for (const c of changed) await this.replaceContent(c, t0);
    if (created.length > 0) this.link.imports.prefetch(created);
    if (unread.length > 0) this.link.imports.queue(unread);
    const totalMs = this.link.nowMs() - t0;
    const detail = { dirKey, entries: listing.entries.length, prefetch: created.length, changed: changed.length, listMs: listedMs, mergeMs: totalMs - listedMs };
    if (totalMs > 1000) this.core.log.info('slow directory listing', detail);
    else this.core.log.debug('directory listed', detail);
  }

  /** Inside a transaction: applies a listing of `dirKey` to directory `dirIno`. */
  private merge(m: Mutation, dirIno: number, dirKey: string, listing: RemoteListing, t0: number, prefetch: number[], unread: number[]): ContentChange[] {
    const store = m.store;
    const dir = m.find(dirIno);
    const rsDir = store.remote.get(dirIno);
    // Moved (or removed) while the listing ran: the next lookup lists it again.
    if (!dir || dir.type !== 'dir' || !rsDir || rsDir.key !== dirKey) return [];
    const now = this.link.nowMs();
    const changed: ContentChange[] = [];
    const seen = new Set<string>();
    let touched = false;
    for (const e of listing.entries) {
      if (dirIno === ROOT_INO && RESERVED_ROOT_NAMES.has(e.name)) continue;
      seen.add(e.name);
      const key = childKey(dirKey, e.name, e.type === 'dir');
      const local = findEntry(store, dirIno, e.name);
      if (!local) {
        if (store.tombstones.get(key) !== undefined || store.rkeys.get(key) !== undefined) continue;
        if ((this.deleted.get(key) ?? -Infinity) >= t0) continue; // deleted while this listing ran
        const ino = createImported(m, this.link, dir, e, key, now);
        // A small file imported whole brings its attributes with it: no HEAD. Under a 'file'
        // rule that is done at its first access (a HEAD only if READDIRPLUS needs it first).
        const trigger = e.type === 'file' ? this.link.imports.triggerFor(key, e.size) : undefined;
        if (trigger === 'directory') prefetch.push(ino);
        else if (e.attributesPending && trigger !== 'file') unread.push(ino);
        touched = true;
        continue;
      }
      if (!this.importable(m, local.ino, key, t0)) continue;
      const rec = m.inode(local.ino);
      const known = store.remote.get(local.ino)!;
      if (rec.type === 'dir' || e.type === 'dir') {
        // Same key, so both are directories: only the marker's attributes can have changed.
        if (e.described && e.etag !== undefined && (e.etag !== known.etag || !sameAttributes(rec, e))) applyAttributes(m, rec, e, now);
        else noteListed(m, local.ino, known, e, unread);
        continue;
      }
      // The same object as before and not HEADed: its type and attributes are what we have (a
      // listing alone cannot tell a symlink from a file, only a HEAD does).
      if (e.etag === known.etag && !e.described) {
        noteListed(m, local.ino, known, e, unread);
        continue;
      }
      if (rec.type !== e.type || (e.type === 'symlink' && e.target !== rec.target)) {
        dropEntry(m, dir, e.name, local);
        const ino = createImported(m, this.link, dir, e, key, now);
        if (e.attributesPending) unread.push(ino);
        touched = true;
      } else if (e.type === 'file' && e.etag !== known.etag) {
        changed.push({ ino: local.ino, etag: known.etag, entry: e });
      } else if (e.described && !sameAttributes(rec, e)) {
        applyAttributes(m, rec, e, now); // a metadata-only change (or a special file rewritten)
      } else {
        noteListed(m, local.ino, known, e, unread);
      }
    }
    for (const child of listEntries(store, dirIno, 0, Number.MAX_SAFE_INTEGER)) {
      if (seen.has(child.name) || (dirIno === ROOT_INO && RESERVED_ROOT_NAMES.has(child.name))) continue;
      const rec = m.find(child.ino);
      if (!rec || !this.importable(m, child.ino, childKey(dirKey, child.name, rec.type === 'dir'), t0)) continue;
      if (rec.type === 'dir' && !this.cleanSubtree(m, rec.ino, t0)) continue;
      dropEntry(m, dir, child.name, { ino: child.ino, cookie: child.cookie });
      touched = true;
    }
    const self = listing.self;
    if (self && store.pending.get(dirIno) === undefined && !this.link.uploads.has(dirIno)) {
      if (self.described && (self.etag !== rsDir.etag || !sameAttributes(dir, self))) applyAttributes(m, dir, self, now);
      else noteListed(m, dirIno, rsDir, self, unread);
    } else if (!self && rsDir.attributesPending && rsDir.etag === undefined) {
      // No marker in its own listing: an implicit directory, nothing to HEAD.
      store.remote.putSync(dirIno, { ...rsDir, attributesPending: undefined });
    }
    if (touched) {
      // The clients' caches of this directory must see it changed.
      touchDir(m, dir);
      m.save(dir, 'entries');
    }
    const rsNow = store.remote.get(dirIno)!;
    store.remote.putSync(dirIno, { ...rsNow, listedAt: now });
    return changed;
  }

  /** May the bucket's version replace or remove the local inode at `key`? */
  private importable(m: Mutation, ino: number, key: string, t0: number): boolean {
    const rs = m.store.remote.get(ino);
    if (rs?.key !== key) return false; // created here, or another inode's name now
    if (m.store.pending.get(ino) !== undefined || this.link.uploads.has(ino)) return false;
    return rs.syncedAt < t0;
  }

  /** True if nothing under directory `ino` has local changes (it may be removed as a whole). */
  private cleanSubtree(m: Mutation, ino: number, t0: number): boolean {
    const rs = m.store.remote.get(ino);
    if (rs?.key === undefined) return false;
    for (const child of listEntries(m.store, ino, 0, Number.MAX_SAFE_INTEGER)) {
      const rec = m.find(child.ino);
      if (!rec || !this.importable(m, child.ino, childKey(rs.key, child.name, rec.type === 'dir'), t0)) return false;
      if (rec.type === 'dir' && !this.cleanSubtree(m, child.ino, t0)) return false;
    }
    return true;
  }

  /**
   * A clean file whose object changed: new size and attributes, cached data dropped. Under the
   * exclusive lock, so no read or fetch sees half of it; skipped if anything changed meanwhile.
   */
  private async replaceContent(c: ContentChange, t0: number): Promise<void> {
    await this.core.states.get(c.ino).lock.exclusive(async () => {
      const blocks = this.link.blocks;
      const done = await this.core.mutate((m) => {
        const rec = m.find(c.ino);
        const rs = m.store.remote.get(c.ino);
        if (!rec || !rs || rs.etag !== c.etag || rs.key === undefined || !this.importable(m, c.ino, rs.key, t0)) return false;
        const e = c.entry;
        rec.size = e.size;
        rec.used = 0;
        rec.mtime = e.mtime;
        rec.ctime = m.now;
        if (e.mode !== undefined) rec.mode = e.mode;
        if (e.uid !== undefined) rec.uid = e.uid;
        if (e.gid !== undefined) rec.gid = e.gid;
        rec.dataVersion++;
        rec.metaVersion++;
        m.save(rec, 'data');
        putRemote(m, c.ino, {
          ...rs, etag: e.etag, size: e.size, backLen: e.size, syncedData: rec.dataVersion, syncedMeta: rec.metaVersion, syncedAt: this.link.nowMs(),
          modifiedMs: e.modifiedMs, attributesPending: e.attributesPending || undefined,
        });
        blocks.dropPresence(c.ino);
        blocks.clearDirty(c.ino);
        blocks.saveInTxn(m, c.ino);
        return true;
      }, { quiet: true });
      if (done) await this.core.data.truncate(c.ino, 0);
      const key = this.link.remoteOf(c.ino)?.key;
      if (done && key !== undefined && this.link.imports.triggerFor(key, c.entry.size) === 'directory') this.link.imports.prefetch([c.ino]);
      else if (done && c.entry.attributesPending) this.link.imports.queue([c.ino]);
    });
  }
}

/** Inside a transaction: a new inode for the bucket's entry `e` at `key`, named e.name in `dir`. */
export function createImported(m: Mutation, link: LinkView, dir: InodeRecord, e: RemoteEntry, key: string, now: number): number {
  const d = link.defaults;
  const mode = e.mode ?? (e.type === 'dir' ? d.dirMode : e.type === 'symlink' ? 0o777 : d.fileMode);
  const rec = m.allocate({ type: e.type, mode, uid: e.uid ?? d.uid, gid: e.gid ?? d.gid, target: e.target, parent: dir.ino });
  if (e.type === 'file') rec.size = e.size;
  rec.atime = e.mtime;
  rec.mtime = e.mtime;
  rec.ctime = e.mtime;
  m.save(rec);
  addEntry(m, dir, e.name, rec.ino);
  if (e.type === 'dir') dir.nlink++;
  putRemote(m, rec.ino, {
    key,
    etag: e.etag,
    size: e.size,
    backLen: e.type === 'file' ? e.size : 0,
    syncedData: rec.dataVersion,
    syncedMeta: rec.metaVersion,
    syncedAt: now,
    modifiedMs: e.modifiedMs,
    attributesPending: e.attributesPending || undefined,
  });
  return rec.ino;
}

/** Inside a transaction: removes `name` from `dir`, a directory with everything under it. */
export function dropEntry(m: Mutation, dir: InodeRecord, name: string, entry: { ino: number; cookie: number }): void {
  const rec = m.inode(entry.ino);
  if (rec.type === 'dir') {
    for (const child of listEntries(m.store, rec.ino, 0, Number.MAX_SAFE_INTEGER)) dropEntry(m, rec, child.name, child);
    dir.nlink--;
  }
  removeEntry(m, dir, name, entry);
  rec.nlink = rec.type === 'dir' ? 0 : rec.nlink - 1;
  rec.ctime = m.now;
  if (rec.nlink <= 0) m.delete(rec);
  else m.save(rec);
}

/**
 * Inside a transaction: what a listing showed of an object whose content and attributes are
 * unchanged: its LastModified, and whether its metadata is still to be read (then queued). The
 * listing's "unread" is asked again of the cache as it is now: a HEAD that answered while the
 * listing ran must not be undone (a client waiting for it would be told to try again later).
 */
function noteListed(m: Mutation, ino: number, known: RemoteState, e: RemoteEntry, unread: number[]): void {
  const pending = (e.attributesPending && attributesUnread(e, known)) || (known.attributesPending && !e.described) || undefined;
  const modifiedMs = e.modifiedMs ?? known.modifiedMs;
  if (pending) unread.push(ino);
  if (pending === known.attributesPending && modifiedMs === known.modifiedMs) return;
  m.store.remote.putSync(ino, { ...known, modifiedMs, attributesPending: pending });
}
