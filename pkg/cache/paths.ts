// The bucket key an inode belongs at, from its place in the tree: the root is "", a directory
// "a/b/", anything else "a/b". A file with several hard links is kept under its first name in
// (directory, name) order; its other names exist in the cache only. Nothing under the
// reserved root names (lost+found) has a key: it is never uploaded.
import { linksOf } from './directory';
import { ROOT_INO } from './inode';
import type { InodeTable } from './inode-table';
import type { MetadataStore } from './metadata-store';
import { childKey, RESERVED_ROOT_NAMES } from './remote';

const MAX_DEPTH = 4096;

export function desiredKey(store: MetadataStore, inodes: InodeTable, ino: number): string | undefined {
  const parts: string[] = [];
  let cur = ino;
  for (let depth = 0; cur !== ROOT_INO; depth++) {
    if (depth > MAX_DEPTH) return undefined;
    const rec = inodes.get(cur);
    const link = linksOf(store, cur, 1)[0];
    if (!rec || !link) return undefined;
    if (link.dir === ROOT_INO && RESERVED_ROOT_NAMES.has(link.name)) return undefined;
    parts.push(childKey('', link.name, rec.type === 'dir'));
    cur = link.dir;
  }
  return parts.reverse().join('');
}

/** A name for `rkey` flattened into one path component (lost+found), at most 255 bytes. */
export function flattenKey(rkey: string, suffix: string): string {
  let base = rkey.replace(/\/+$/, '').replace(/\//g, '_') || 'root';
  const room = 255 - Buffer.byteLength(suffix);
  while (Buffer.byteLength(base) > room) base = base.slice(1);
  return `${base}${suffix}`;
}
