// "The bucket says key K changed": what a linked cache does with a change notice (bucket event
// notifications, or another node's word), as opposed to finding changes by listing after the
// TTL. pkg/cache knows no event formats: pkg/events parses them and calls this with rkeys.
//
// A notice re-lists the directory holding the key at once (link/importer.ts, so the same conflict
// rule as a TTL listing applies: an inode with local changes not uploaded, or being uploaded,
// is never replaced or removed), and checks that the listing shows what the notice said; a
// listing that began before the change is repeated (at most twice). A directory never listed
// needs nothing: its first lookup lists it. A key under a directory the cache does not hold
// re-lists the nearest ancestor it holds (a new subdirectory appears there). A removal that
// leaves an implicit directory empty re-lists its parent too (the directory is gone from the
// bucket). `everythingStale` is for gaps (events lost): every listed directory is listed again
// at its next use.
import { describeError } from '../../log/logger';
import type { FsCore } from '../core/core';
import { listEntries } from '../meta/directory';
import { ROOT_INO } from '../meta/inode';
import { markListingStale } from '../meta/remote-state';
import type { LinkView } from './link-view';

export interface RemoteChange {
  /** The key, relative to the linked prefix (a directory marker ends in "/"). */
  rkey: string;
  removed: boolean;
  /** The object's ETag after the change (created/overwritten), when the notice says. */
  etag?: string;
  /** When the change happened (ms), when the notice says. */
  atMs?: number;
}

export type ChangeOutcome =
  /** The cache already shows it (a duplicate, or our own upload recorded). */
  | 'known'
  /** Nothing cached there: the next lookup lists it anyway. */
  | 'not-cached'
  /** Re-listed (the directory now shows the bucket's state, local changes kept). */
  | 'relisted';

const MAX_LISTINGS = 3;

export function parentKey(rkey: string): string | undefined {
  if (rkey === '') return undefined;
  const trimmed = rkey.endsWith('/') ? rkey.slice(0, -1) : rkey;
  const i = trimmed.lastIndexOf('/');
  return i < 0 ? '' : trimmed.slice(0, i + 1);
}

export class RemoteChanges {
  /** Notices applied, by outcome; listings they caused. */
  readonly counters = { known: 0, notCached: 0, relisted: 0, listings: 0, gaps: 0 };

  constructor(
    private readonly core: FsCore,
    private readonly link: LinkView,
  ) {}

  /**
   * Applies notices about the keys of ONE directory (`dirKey`, "" for the root) — a burst is
   * coalesced by the caller into one call per directory, so one listing covers all of them.
   */
  async directoryChanged(dirKey: string, changes: RemoteChange[]): Promise<ChangeOutcome> {
    const pending = changes.filter((c) => !this.shows(c));
    if (pending.length === 0) {
      this.counters.known++;
      return 'known';
    }
    const dirIno = this.nearestListed(dirKey);
    if (dirIno === undefined) {
      this.counters.notCached++;
      return 'not-cached';
    }
    for (let n = 0; n < MAX_LISTINGS; n++) {
      await this.relist(dirIno);
      if (pending.every((c) => this.shows(c) || !this.importable(c.rkey))) break;
    }
    if (pending.some((c) => c.removed)) await this.dropEmptyImplicit(dirKey);
    this.counters.relisted++;
    return 'relisted';
  }

  /** A gap (events lost or of unknown order): every listed directory is listed again when next used. */
  async everythingStale(): Promise<number> {
    this.counters.gaps++;
    return this.core.mutate((m) => {
      let n = 0;
      for (const { key: ino, value: rs } of m.store.remote.getRange({})) if (markListingStale(m.store, ino, rs)) n++;
      return n;
    }, { quiet: true });
  }

  /** Whether the cache already holds what the notice says is in the bucket. */
  private shows(c: RemoteChange): boolean {
    const ino = this.core.store.rkeys.get(c.rkey);
    const rs = ino === undefined ? undefined : this.link.remoteOf(ino);
    if (c.removed) return rs === undefined || rs.key !== c.rkey;
    if (rs === undefined || c.etag === undefined || rs.etag !== c.etag) return false;
    // Same ETag: new metadata on the same bytes is a change too, unless the cache's record
    // is at least as recent as the change.
    return c.atMs !== undefined && Math.max(rs.modifiedMs ?? 0, rs.syncedAt) >= c.atMs;
  }

  /** False when the key's inode has local changes the bucket's version must not replace. */
  private importable(rkey: string): boolean {
    const ino = this.core.store.rkeys.get(rkey);
    if (ino === undefined) return true;
    return this.core.store.pending.get(ino) === undefined && !this.link.uploads.has(ino);
  }

  /** The directory at `dirKey` if listed, else its nearest listed ancestor; undefined if none is. */
  private nearestListed(dirKey: string): number | undefined {
    for (let k: string | undefined = dirKey; k !== undefined; k = parentKey(k)) {
      const ino = this.core.store.rkeys.get(k);
      if (ino === undefined) continue;
      const rs = this.link.remoteOf(ino);
      // Held but never listed: nothing below it is cached, its first lookup lists it.
      return rs?.listedAt === undefined ? undefined : ino;
    }
    return undefined;
  }

  private async relist(dirIno: number): Promise<void> {
    await this.core.mutate((m) => markListingStale(m.store, dirIno), { quiet: true });
    this.counters.listings++;
    await this.link.importer.ensureListed(dirIno);
  }

  /**
   * After a removal: a directory without a marker and now without entries no longer exists in
   * the bucket; its parent's listing removes it (if clean).
   */
  private async dropEmptyImplicit(dirKey: string): Promise<void> {
    const ino = dirKey === '' ? ROOT_INO : this.core.store.rkeys.get(dirKey);
    if (ino === undefined || ino === ROOT_INO) return;
    const rs = this.link.remoteOf(ino);
    if (rs === undefined || rs.etag !== undefined) return;
    if (listEntries(this.core.store, ino, 0, 1).length > 0) return;
    const parent = parentKey(dirKey);
    const parentIno = parent === undefined ? undefined : this.core.store.rkeys.get(parent);
    if (parentIno === undefined) return;
    await this.relist(parentIno).catch((err: unknown) => this.core.log.warn('re-listing after a removal failed', { dirKey, err: describeError(err) }));
  }
}
