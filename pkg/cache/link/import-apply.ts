// Inside a transaction: what a HEAD (or a whole GET) of an object showed, applied to the inode
// whose attributes were pending (import-queue.ts). Local changes win; an object that changed
// or vanished meanwhile is left to the next listing (the caller marks the directory stale); an
// object of another type than the listing suggested (a symlink or special file listed as a
// file) replaces the inode: no client has seen it yet, since every way to its attributes waits
// for this.
import { findEntry, linksOf } from '../meta/directory';
import { createImported, dropEntry } from './importer';
import type { LinkView } from './link-view';
import type { Mutation } from '../meta/mutation';
import { touchDir } from '../ops/create';
import type { RemoteEntry } from './remote';
import { applyAttributes } from './remote-attrs';

/** Returns true if the directory holding `ino` must be listed again. */
export function applyDescribed(m: Mutation, link: LinkView, ino: number, key: string, etag: string | undefined, e: RemoteEntry | undefined): boolean {
  const rec = m.find(ino);
  const rs = m.store.remote.get(ino);
  if (!rec || !rs?.attributesPending || rs.key !== key || rs.etag !== etag) return false;
  const local = m.store.pending.get(ino) !== undefined || link.uploads.has(ino);
  if (local || (rec.type === 'dir' && e?.type === 'dir' && e.etag === undefined)) {
    // Local changes win; an implicit directory has no metadata to read.
    m.store.remote.putSync(ino, { ...rs, attributesPending: undefined });
    return false;
  }
  if (!e || (rec.type !== 'dir' && e.etag !== rs.etag)) return true; // gone or changed
  if (e.type !== rec.type || (e.type === 'symlink' && e.target !== rec.target)) return !replaceEntry(m, link, ino, key, e);
  applyAttributes(m, rec, { ...e, modifiedMs: undefined }, link.nowMs());
  return false;
}

/** The inode at `key` becomes a new one of the object's real type. False if it has other names. */
function replaceEntry(m: Mutation, link: LinkView, ino: number, key: string, e: RemoteEntry): boolean {
  const links = linksOf(m.store, ino, 2);
  if (links.length !== 1) return false;
  const { dir, name } = links[0]!;
  const dirRec = m.inode(dir);
  const entry = findEntry(m.store, dir, name);
  if (!entry) return false;
  const modifiedMs = m.store.remote.get(ino)?.modifiedMs;
  dropEntry(m, dirRec, name, entry);
  createImported(m, link, dirRec, { ...e, name, modifiedMs: modifiedMs ?? e.modifiedMs, attributesPending: undefined }, key, link.nowMs());
  touchDir(m, dirRec);
  m.save(dirRec, 'entries');
  return true;
}
