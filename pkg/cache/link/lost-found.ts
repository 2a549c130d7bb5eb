// Conflicts: when an upload finds that the object it would replace changed in the bucket (or
// vanished), the bucket's version wins in place (DESIGN.md decision 5) and the local version is
// kept under /.s3files-lost+found/<UTC time>/<its path>, a local-only directory that is never
// uploaded, readable by whoever could read the file where it was.
import type { FsCore } from '../core/core';
import { addEntry, findEntry, linksOf, removeEntry } from '../meta/directory';
import { ROOT_INO, type InodeRecord } from '../meta/inode';
import type { Mutation } from '../meta/mutation';
import { touchDir } from '../ops/create';
import { LOST_FOUND } from './remote';
import { addTombstone, markListingStale, putRemote, tombstoneStrays, uploadTokenOf } from '../meta/remote-state';

/** lost+found and its dated folders: anyone may enter; only an entry's owner may remove it. */
const SHARED_DIR_MODE = 0o1777;

/** Inside a transaction: a directory `name` in `parent`, made with `attrs` if missing. */
function childDir(m: Mutation, parentIno: number, name: string, attrs: { mode: number; uid: number; gid: number }): InodeRecord {
  let candidate = name;
  for (let n = 1; ; n++) {
    const entry = findEntry(m.store, parentIno, candidate);
    if (!entry) break;
    const rec = m.inode(entry.ino);
    if (rec.type === 'dir') return rec;
    candidate = `${name}.${n}`; // a file of that name is there already
  }
  const parent = m.inode(parentIno);
  const dir = m.allocate({ type: 'dir', mode: attrs.mode, uid: attrs.uid, gid: attrs.gid, parent: parentIno });
  addEntry(m, parent, candidate, dir.ino);
  parent.nlink++;
  touchDir(m, parent);
  m.save(parent, 'entries');
  return dir;
}

/**
 * Inside a transaction: lost+found (1777, root's owner; an older 0700 one is opened up) and
 * its folder for this moment, named by UTC time ("2026-12-07T04-10-00Z").
 */
function datedFolder(m: Mutation): InodeRecord {
  const root = m.inode(ROOT_INO);
  const shared = { mode: SHARED_DIR_MODE, uid: root.uid, gid: root.gid };
  const lf = childDir(m, ROOT_INO, LOST_FOUND, shared);
  if (lf.mode !== SHARED_DIR_MODE) {
    lf.mode = SHARED_DIR_MODE;
    m.save(lf, null);
  }
  const stamp = new Date(m.now.sec * 1000).toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  return childDir(m, lf.ino, stamp, shared);
}

/**
 * The directories from the root down to `dir` (excluded the root), each with its name; stops
 * (returns undefined) if the chain is broken.
 */
function ancestry(m: Mutation, dir: number): Array<{ name: string; rec: InodeRecord }> | undefined {
  const chain: Array<{ name: string; rec: InodeRecord }> = [];
  for (let cur = dir, depth = 0; cur !== ROOT_INO; depth++) {
    const link = linksOf(m.store, cur, 1)[0];
    if (!link || depth > 4096) return undefined;
    chain.unshift({ name: link.name, rec: m.inode(cur) });
    cur = link.dir;
  }
  return chain;
}

/** The name `dir` has in its parent. */
function nameIn(m: Mutation, dir: number): string {
  return linksOf(m.store, dir, 1)[0]!.name;
}

/**
 * Moves `ino` (a regular file, symlink or special file) into lost+found, under a folder named
 * by the time of the conflict and the path it had ("<dated folder>/a/b.txt"), and forgets its
 * remote side: what it held remotely is the bucket's now. The file keeps its owner and mode;
 * each directory of the mirrored path takes the owner and mode of the directory it mirrors, so
 * whoever could reach the file before can reach the kept copy, and nobody else.
 * `tombstoneOldKey`: its old key (a rename source) is to be deleted, because locally nothing
 * is there any more. Returns the path kept under lost+found, or undefined if the inode is gone.
 */
export async function quarantine(core: FsCore, ino: number, key: string, tombstoneOldKey: boolean): Promise<string | undefined> {
  return core.mutate((m) => {
    const rec = m.find(ino);
    const link = linksOf(m.store, ino, 1)[0];
    if (!rec || !link || rec.type === 'dir') return undefined;
    const folder = datedFolder(m);
    const keptPath = [LOST_FOUND, nameIn(m, folder.ino)];
    let parentIno = folder.ino;
    for (const { name, rec: d } of ancestry(m, link.dir) ?? []) {
      parentIno = childDir(m, parentIno, name, { mode: d.mode, uid: d.uid, gid: d.gid }).ino;
      keptPath.push(nameIn(m, parentIno));
    }
    let name = link.name;
    for (let n = 1; findEntry(m.store, parentIno, name); n++) name = `${link.name}.${n}`;
    keptPath.push(name);
    const from = m.inode(link.dir);
    removeEntry(m, from, link.name, findEntry(m.store, link.dir, link.name)!);
    touchDir(m, from);
    m.save(from, 'entries');
    const parent = m.inode(parentIno);
    addEntry(m, parent, name, ino);
    touchDir(m, parent);
    m.save(parent, 'entries');
    const rs = m.store.remote.get(ino);
    const token = uploadTokenOf(m.store, ino, rec.gen);
    if (tombstoneOldKey && rs?.key !== undefined && rs.key !== key) addTombstone(m.store, rs.key, { etag: rs.etag, at: Date.now(), token });
    // Earlier unrecorded uploads of it elsewhere: the kept copy is local only now.
    tombstoneStrays(m.store, rs, key, token, Date.now());
    putRemote(m, ino, undefined);
    m.store.pending.removeSync(ino);
    rec.ctime = m.now;
    m.save(rec, null);
    // The directory it left is listed again at the next lookup: the bucket's version shows up.
    markListingStale(m.store, link.dir);
    return keptPath.join('/');
  }, { quiet: true });
}
