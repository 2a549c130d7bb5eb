// The bucket key an inode belongs at, from its place in the tree: the root is "", a directory
// "a/b/", anything else "a/b". A file with several hard links is kept under one of them: the
// name its object already has while that name exists, else the first in (directory, name)
// order; its other names exist in the cache only. Nothing under the reserved root names
// (lost+found) has a key: it is never uploaded.
import { linksOf } from '../meta/directory';
import { ROOT_INO } from '../meta/inode';
import type { InodeTable } from '../meta/inode-table';
import type { MetadataStore } from '../meta/metadata-store';
import { childKey, RESERVED_ROOT_NAMES } from './remote';

const MAX_DEPTH = 4096;

export function desiredKey(store: MetadataStore, inodes: InodeTable, ino: number): string | undefined {
  const links = linksOf(store, ino, 8);
  if (links.length > 1) {
    // Several names: the one the object is under now stays its key while it exists.
    const current = store.remote.get(ino)?.key;
    const keys = links.map((l) => keyVia(store, inodes, ino, l));
    return current !== undefined && keys.includes(current) ? current : keys.find((k) => k !== undefined);
  }
  return keyVia(store, inodes, ino, links[0]);
}

/** The key of `ino` reached through `link` (its name in a directory). */
function keyVia(store: MetadataStore, inodes: InodeTable, ino: number, link: { dir: number; name: string } | undefined): string | undefined {
  if (ino === ROOT_INO) return '';
  const rec = inodes.get(ino);
  if (!rec || !link) return undefined;
  if (link.dir === ROOT_INO && RESERVED_ROOT_NAMES.has(link.name)) return undefined;
  const parent = link.dir === ROOT_INO ? '' : pathOfDir(store, inodes, link.dir);
  return parent === undefined ? undefined : parent + childKey('', link.name, rec.type === 'dir');
}

/** The key of directory `dir` (directories have one name). */
function pathOfDir(store: MetadataStore, inodes: InodeTable, dir: number): string | undefined {
  const parts: string[] = [];
  let cur = dir;
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

