// REMOVE, RMDIR, RENAME (RFC 1813 3.3.12, 3.3.13, 3.3.14) with Linux's errors:
// REMOVE of a directory is EISDIR (vfs_unlink); RMDIR of a non-directory ENOTDIR, of '.'
// EINVAL, of '..' or a non-empty directory ENOTEMPTY; sticky directories let only the owner of
// the entry or of the directory (or root) remove or replace it (EPERM).
// RENAME replaces its target atomically: file over file, directory over empty directory;
// directory over non-directory ENOTDIR, non-directory over directory EISDIR; a directory moved
// under itself EINVAL; two names of the same inode: nothing happens. A directory moved to
// another parent needs write permission on itself (its '..' changes) and moves one link.
import { FsError, type Credentials, type Wcc } from '../../vfs';
import type { FsCore } from '../core/core';
import { findEntry, removeEntry, addEntry } from '../meta/directory';
import { MAX_LINKS, ROOT_INO, toAttributes, toWccAttributes, type InodeRecord } from '../meta/inode';
import type { Mutation } from '../meta/mutation';
import { checkName, isDotName } from './names';
import { searchableDir, touchDir } from './create';
import { requireModifyDir, requireNotSticky, requirePerm, W } from './permissions';

/** Drops one link of `rec`; frees it when none is left. */
function unlinkInode(m: Mutation, rec: InodeRecord): void {
  rec.nlink = rec.type === 'dir' ? 0 : rec.nlink - 1;
  rec.ctime = m.now;
  rec.metaVersion++;
  if (rec.nlink <= 0) m.delete(rec);
  else m.save(rec);
}

export function remove(core: FsCore, cred: Credentials, dirIno: number, name: string): Promise<Wcc> {
  checkName(name);
  return core.mutate((m) => {
    const dir = searchableDir(m, cred, dirIno);
    const before = toWccAttributes(dir);
    if (isDotName(name)) throw new FsError('EISDIR', `'${name}' is a directory`);
    const entry = findEntry(m.store, dirIno, name);
    if (!entry) throw new FsError('ENOENT', `'${name}' not found`);
    requireModifyDir(cred, dir);
    const victim = m.inode(entry.ino);
    if (victim.type === 'dir') throw new FsError('EISDIR', `'${name}' is a directory`);
    requireNotSticky(cred, dir, victim);
    core.link?.noteStrays(m, victim.ino); // linked: unrecorded uploads of it are deleted too
    removeEntry(m, dir, name, entry);
    unlinkInode(m, victim);
    touchDir(m, dir);
    m.save(dir, 'entries');
    return { before, after: toAttributes(dir) };
  });
}

export function rmdir(core: FsCore, cred: Credentials, dirIno: number, name: string): Promise<Wcc> {
  checkName(name);
  return core.mutate((m) => {
    const dir = searchableDir(m, cred, dirIno);
    const before = toWccAttributes(dir);
    if (name === '.') throw new FsError('EINVAL', "cannot remove '.'");
    if (name === '..') throw new FsError('ENOTEMPTY', "cannot remove '..'");
    const entry = findEntry(m.store, dirIno, name);
    if (!entry) throw new FsError('ENOENT', `'${name}' not found`);
    requireModifyDir(cred, dir);
    const victim = m.inode(entry.ino);
    if (victim.type !== 'dir') throw new FsError('ENOTDIR', `'${name}' is not a directory`);
    requireNotSticky(cred, dir, victim);
    if ((victim.entries ?? 0) > 0) throw new FsError('ENOTEMPTY', `'${name}' is not empty`);
    removeEntry(m, dir, name, entry);
    dir.nlink--;
    unlinkInode(m, victim);
    touchDir(m, dir);
    m.save(dir, 'entries');
    return { before, after: toAttributes(dir) };
  });
}

/** EINVAL if `target` is `dir` itself or inside it (walking '..' up to the root). */
function refuseMoveIntoItself(m: Mutation, dir: InodeRecord, target: InodeRecord): void {
  let p: number | undefined = target.ino;
  for (let depth = 0; p !== undefined; depth++) {
    if (p === dir.ino) throw new FsError('EINVAL', 'cannot move a directory into itself');
    if (p === ROOT_INO || depth > 100000) return;
    p = m.find(p)?.parent;
  }
}

/** Checks that `src` may replace `victim` (sticky bit, type match, emptiness). */
function checkReplace(cred: Credentials, toDir: InodeRecord, src: InodeRecord, victim: InodeRecord): void {
  requireNotSticky(cred, toDir, victim);
  if (src.type === 'dir') {
    if (victim.type !== 'dir') throw new FsError('ENOTDIR', 'cannot replace a non-directory with a directory');
    if ((victim.entries ?? 0) > 0) throw new FsError('ENOTEMPTY', 'target directory is not empty');
  } else if (victim.type === 'dir') {
    throw new FsError('EISDIR', 'cannot replace a directory with a non-directory');
  }
}

export function rename(
  core: FsCore,
  cred: Credentials,
  fromDirIno: number,
  fromName: string,
  toDirIno: number,
  toName: string,
): Promise<{ from: Wcc; to: Wcc }> {
  checkName(fromName);
  checkName(toName);
  if (isDotName(fromName) || isDotName(toName)) throw new FsError('EINVAL', "cannot rename '.' or '..'");
  return core.mutate((m) => {
    const fromDir = searchableDir(m, cred, fromDirIno);
    const toDir = toDirIno === fromDirIno ? fromDir : searchableDir(m, cred, toDirIno);
    const fromBefore = toWccAttributes(fromDir);
    const toBefore = toWccAttributes(toDir);
    const wcc = () => ({ from: { before: fromBefore, after: toAttributes(fromDir) }, to: { before: toBefore, after: toAttributes(toDir) } });
    const srcEntry = findEntry(m.store, fromDirIno, fromName);
    if (!srcEntry) throw new FsError('ENOENT', `'${fromName}' not found`);
    requireModifyDir(cred, fromDir);
    if (toDir !== fromDir) requireModifyDir(cred, toDir);
    const src = m.inode(srcEntry.ino);
    requireNotSticky(cred, fromDir, src);
    const dstEntry = findEntry(m.store, toDirIno, toName);
    if (dstEntry && dstEntry.ino === src.ino) return wcc();
    const movesDir = src.type === 'dir' && toDir !== fromDir;
    if (movesDir) {
      requirePerm(cred, src, W, "no write permission on the moved directory ('..' changes)");
      refuseMoveIntoItself(m, src, toDir);
    }
    const victim = dstEntry ? m.inode(dstEntry.ino) : undefined;
    if (victim) checkReplace(cred, toDir, src, victim);
    if (movesDir && !victim && toDir.nlink >= MAX_LINKS) throw new FsError('EMLINK', 'target directory has too many links');

    // Linked: an unrecorded upload under the old name (or the victim's) must not stay behind.
    core.link?.noteStrays(m, src.ino);
    if (victim) core.link?.noteStrays(m, victim.ino);
    removeEntry(m, fromDir, fromName, srcEntry);
    if (victim && dstEntry) {
      removeEntry(m, toDir, toName, dstEntry);
      if (victim.type === 'dir') toDir.nlink--;
      unlinkInode(m, victim);
    }
    addEntry(m, toDir, toName, src.ino);
    if (src.type === 'dir') {
      if (movesDir) {
        fromDir.nlink--;
        toDir.nlink++;
      }
      src.parent = toDir.ino;
    }
    src.ctime = m.now;
    src.metaVersion++;
    m.save(src);
    touchDir(m, fromDir);
    m.save(fromDir, 'entries');
    if (toDir !== fromDir) {
      touchDir(m, toDir);
      m.save(toDir, 'entries');
    }
    return wcc();
  });
}
