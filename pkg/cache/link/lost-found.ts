// Conflicts: when an upload finds that the object it would replace changed in the bucket (or
// vanished), the bucket's version wins in place (DESIGN.md decision 5) and the local version is
// kept under /.s3files-lost+found/, a local-only directory that is never uploaded.
import type { FsCore } from '../core/core';
import { addEntry, findEntry, linksOf, removeEntry } from '../meta/directory';
import { ROOT_INO, type InodeRecord } from '../meta/inode';
import type { Mutation } from '../meta/mutation';
import { touchDir } from '../ops/create';
import { flattenKey } from './paths';
import { LOST_FOUND } from './remote';
import { addTombstone, putRemote, tombstoneStrays, uploadTokenOf } from '../meta/remote-state';

/** Inside a transaction: the lost+found directory, made (0700, root's owner) if missing. */
function lostFoundDir(m: Mutation): InodeRecord {
  const root = m.inode(ROOT_INO);
  const entry = findEntry(m.store, ROOT_INO, LOST_FOUND);
  if (entry) {
    const rec = m.inode(entry.ino);
    if (rec.type === 'dir') return rec;
  }
  const name = entry ? `${LOST_FOUND}.${Date.now()}` : LOST_FOUND;
  const dir = m.allocate({ type: 'dir', mode: 0o700, uid: root.uid, gid: root.gid, parent: ROOT_INO });
  addEntry(m, root, name, dir.ino);
  root.nlink++;
  touchDir(m, root);
  m.save(root, 'entries');
  return dir;
}

/**
 * Moves `ino` (a regular file, symlink or special file) into lost+found as
 * "<key with / as _>.<unix time>.<ino>" and forgets its remote side: what it held remotely is
 * the bucket's now. `tombstoneOldKey`: its old key (a rename source) is to be deleted, because
 * locally nothing is there any more. Returns the new name, or undefined if the inode is gone.
 */
export async function quarantine(core: FsCore, ino: number, key: string, tombstoneOldKey: boolean): Promise<string | undefined> {
  return core.mutate((m) => {
    const rec = m.find(ino);
    const link = linksOf(m.store, ino, 1)[0];
    if (!rec || !link || rec.type === 'dir') return undefined;
    const lf = lostFoundDir(m);
    let name = flattenKey(key, `.${m.now.sec}.${ino}`);
    for (let n = 1; findEntry(m.store, lf.ino, name); n++) name = flattenKey(key, `.${m.now.sec}.${ino}.${n}`);
    const from = m.inode(link.dir);
    removeEntry(m, from, link.name, findEntry(m.store, link.dir, link.name)!);
    touchDir(m, from);
    m.save(from, 'entries');
    const parent = m.inode(lf.ino);
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
    const rsFrom = m.store.remote.get(link.dir);
    if (rsFrom?.listedAt !== undefined) m.store.remote.putSync(link.dir, { ...rsFrom, listedAt: 0 });
    return name;
  }, { quiet: true });
}
