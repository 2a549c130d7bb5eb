// Whether an inode lives only under the names at the root that are ours (lost+found): its
// changes are nothing to upload. Reads the links database directly (directory.ts imports the
// mutation, which asks this).
import { ROOT_INO } from './inode';
import type { MetadataStore } from './metadata-store';
import { RESERVED_ROOT_NAMES } from './schema';

const MAX_DEPTH = 4096;

function firstLinks(store: MetadataStore, ino: number, limit: number): Array<{ dir: number; name: string }> {
  return Array.from(store.links.getKeys({ start: [ino], end: [ino + 1], limit }), (key) => ({ dir: key[1], name: key[2] }));
}

/**
 * Whether every name of `ino` is under a reserved root name (lost+found): a local-only inode,
 * whose changes are nothing to upload. An inode with no name yet is not (it is being created).
 */
export function isLocalOnly(store: MetadataStore, ino: number): boolean {
  const links = firstLinks(store, ino, 8);
  if (links.length === 0) return false;
  return links.every((first) => {
    let link: { dir: number; name: string } | undefined = first;
    for (let depth = 0; link && depth <= MAX_DEPTH; depth++) {
      if (link.dir === ROOT_INO) return RESERVED_ROOT_NAMES.has(link.name);
      link = firstLinks(store, link.dir, 1)[0];
    }
    return false;
  });
}
