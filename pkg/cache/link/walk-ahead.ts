// Tree walks (ls -lR, find, du, tar, rsync -r) read the subdirectories of a directory one after
// another, and the first read of each waits for its listing: a LIST round trip, then the
// metadata of its entries. Once a client reads a second subdirectory after an earlier one of the
// same parent, the next ones are listed ahead in the background, so that the walk finds them
// imported, with their HEADs (or small files' whole GETs) queued in order behind those of the
// directory being read: the bucket sees a steady stream of tens of requests instead of one
// directory's worth at a time.
//   - A read of one directory alone (`ls -l dir`) lists nothing ahead: a walk shows itself by a
//     second sibling, read after the first in the parent's order.
//   - At most WALK_AHEAD_DIRS subdirectories past the one being read, and only those never
//     listed; finding them scans a bounded number of the parent's entries.
//   - A walk that stops early has cost at most WALK_AHEAD_DIRS directories' listings and the
//     metadata of their entries.
import type { FsCore } from '../core/core';
import { findEntry, linksOf, listEntries } from '../meta/directory';
import type { LinkView } from './link-view';

export const WALK_AHEAD_DIRS = 8;
/** Entries of the parent looked at for the next subdirectories (files may sit between them). */
const SCAN_ENTRIES = 512;
/** Parents whose last read subdirectory is remembered (oldest forgotten first). */
const REMEMBERED_PARENTS = 1024;

export class WalkAhead {
  /** Per parent directory: the cookie of the last subdirectory a client started to read. */
  private readonly lastRead = new Map<number, number>();

  constructor(
    private readonly core: FsCore,
    private readonly link: LinkView,
  ) {}

  /** A client starts to read directory `dirIno` from its first entry. */
  entered(dirIno: number): void {
    const [parentLink] = linksOf(this.core.store, dirIno, 1);
    if (!parentLink || this.core.inodes.get(dirIno)?.type !== 'dir') return;
    const { dir: parent, name } = parentLink;
    const cookie = findEntry(this.core.store, parent, name)?.cookie;
    if (cookie === undefined) return;
    const previous = this.lastRead.get(parent);
    this.remember(parent, cookie);
    if (previous === undefined || previous >= cookie) return;
    let ahead = 0;
    for (const e of listEntries(this.core.store, parent, cookie, SCAN_ENTRIES)) {
      if (this.core.inodes.get(e.ino)?.type !== 'dir') continue;
      this.link.importer.listAhead(e.ino);
      if (++ahead >= WALK_AHEAD_DIRS) break;
    }
  }

  private remember(parent: number, cookie: number): void {
    this.lastRead.delete(parent);
    this.lastRead.set(parent, cookie);
    if (this.lastRead.size > REMEMBERED_PARENTS) this.lastRead.delete(this.lastRead.keys().next().value!);
  }
}
