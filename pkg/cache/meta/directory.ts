// Directory entries. Each entry has a cookie from the directory's own counter, never reused, so
// a READDIR cookie stays valid however the directory changes: entries added later get higher
// cookies, removed entries simply stop appearing, and nothing shifts.
import type { DirentValue, MetadataStore } from './metadata-store';
import type { InodeRecord } from './inode';
import type { Mutation } from './mutation';

export interface ListedEntry {
  cookie: number;
  name: string;
  ino: number;
}

export function findEntry(store: MetadataStore, dir: number, name: string): DirentValue | undefined {
  return store.dirents.get([dir, name]);
}

/** Adds `name → ino` to `dir` (the caller saves `dir` afterwards). */
export function addEntry(m: Mutation, dir: InodeRecord, name: string, ino: number): void {
  const cookie = dir.nextCookie!;
  dir.nextCookie = cookie + 1;
  dir.entries = (dir.entries ?? 0) + 1;
  m.store.dirents.putSync([dir.ino, name], { ino, cookie });
  m.store.cookies.putSync([dir.ino, cookie], { name, ino });
  m.store.links.putSync([ino, dir.ino, name], 1);
}

/** Removes `name` from `dir` (the caller saves `dir` afterwards). */
export function removeEntry(m: Mutation, dir: InodeRecord, name: string, entry: DirentValue): void {
  dir.entries = (dir.entries ?? 1) - 1;
  m.store.dirents.removeSync([dir.ino, name]);
  m.store.cookies.removeSync([dir.ino, entry.cookie]);
  m.store.links.removeSync([entry.ino, dir.ino, name]);
}

/** The names of `ino` (hard links give several), in (directory, name) order. */
export function linksOf(store: MetadataStore, ino: number, limit?: number): Array<{ dir: number; name: string }> {
  const out: Array<{ dir: number; name: string }> = [];
  for (const key of store.links.getKeys({ start: [ino], end: [ino + 1], limit })) out.push({ dir: key[1], name: key[2] });
  return out;
}

/** Up to `limit` entries of `dir` with a cookie greater than `after`, in cookie order. */
export function listEntries(store: MetadataStore, dir: number, after: number, limit: number): ListedEntry[] {
  const out: ListedEntry[] = [];
  for (const { key, value } of store.cookies.getRange({ start: [dir, after + 1], end: [dir + 1], limit })) {
    out.push({ cookie: key[1], name: value.name, ino: value.ino });
  }
  return out;
}
