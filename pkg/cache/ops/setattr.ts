// SETATTR (RFC 1813 3.3.2) with Linux's rules (notify_change, chown_ok, chgrp_ok, knfsd
// nfsd_setattr):
// - mode: owner or root (EPERM); setgid dropped if the caller is not in the file's group;
// - uid: root only (the owner may "change" it to itself); gid: root, or the owner to a group
//   the owner is in (EPERM); a chown of a non-directory clears setuid, and setgid if
//   group-executable;
// - size: regular files only (EISDIR / EINVAL), needs write access (knfsd owner override);
// - times: 'now' needs owner, root or write permission (EACCES); explicit times owner or root
//   (EPERM);
// - the guard: ctime must match or nothing changes (ENOTSYNC).
// A size change persists the new size first and then cuts the data file, under the file's
// exclusive lock: a crash in between leaves a data file longer than its record, which is cut
// back on the next open (data-store.ts), so the truncate is all or nothing.
import { FsError, fromSystemError, type Credentials, type SetAttributes, type SetTime, type Timestamp, type Wcc } from '../../vfs';
import { sameTime, validTimestamp } from '../util/clock';
import type { FsCore } from '../core/core';
import { killSuid, PERM_MASK, S_ISGID, S_ISUID, toAttributes, toWccAttributes, type InodeRecord } from '../meta/inode';
import type { Mutation } from '../meta/mutation';
import { inGroup, isRoot, permits, requireWriteData, W } from './permissions';

export async function setattr(
  core: FsCore,
  cred: Credentials,
  ino: number,
  attrs: SetAttributes,
  guardCtime?: Timestamp,
): Promise<Wcc> {
  validate(core, attrs);
  const rec = core.record(ino);
  if (attrs.size === undefined || rec.type !== 'file') {
    return core.mutate((m) => applySetattr(m, cred, ino, attrs, guardCtime).wcc);
  }
  return core.states.get(ino).lock.exclusive(async () => {
    const { wcc, cutTo } = await core.mutate((m) => {
      const r = applySetattr(m, cred, ino, attrs, guardCtime);
      if (r.cutTo !== undefined && core.link) shrinkRemoteBacking(core, m, ino, r.cutTo);
      return r;
    });
    if (cutTo !== undefined) {
      try {
        await core.data.truncate(ino, cutTo);
        const used = await core.data.allocated(ino);
        core.inodes.update(ino, (r) => (r.used = used));
      } catch (err) {
        throw fromSystemError(err, `truncating inode ${ino}`);
      }
      wcc.after = core.attributes(ino);
    }
    return wcc;
  });
}

/**
 * Linked, inside the truncate's transaction: bytes past the new size no longer come from the
 * object (a later extension reads zeros), and what follows counts as changed for the upload.
 */
function shrinkRemoteBacking(core: FsCore, m: Mutation, ino: number, size: number): void {
  const link = core.link!;
  link.noteSize(ino, size);
  const rs = m.store.remote.get(ino);
  if (rs && rs.backLen > size) m.store.remote.putSync(ino, { ...rs, backLen: size });
  link.blocks.truncated(ino, size);
  link.blocks.saveInTxn(m, ino);
}

function validate(core: FsCore, attrs: SetAttributes): void {
  if (attrs.size !== undefined) {
    if (!Number.isSafeInteger(attrs.size) || attrs.size < 0) throw new FsError('EINVAL', `bad size ${attrs.size}`);
    if (attrs.size > core.maxFileSize) throw new FsError('EFBIG', `size ${attrs.size} exceeds the maximum file size`);
  }
  for (const id of [attrs.uid, attrs.gid]) {
    if (id !== undefined && (!Number.isInteger(id) || id < 0 || id > 0xffffffff)) throw new FsError('EINVAL', `bad id ${id}`);
  }
  for (const t of [attrs.atime, attrs.mtime]) {
    if (t !== undefined && t !== 'now' && !validTimestamp(t)) throw new FsError('EINVAL', 'bad timestamp');
  }
}

/** Inside a transaction: checks and applies `attrs`; `cutTo` is set when the file shrank. */
export function applySetattr(
  m: Mutation,
  cred: Credentials,
  ino: number,
  attrs: SetAttributes,
  guardCtime?: Timestamp,
): { wcc: Wcc; cutTo?: number } {
  const rec = m.inode(ino);
  const before = toWccAttributes(rec);
  if (guardCtime && !sameTime(guardCtime, rec.ctime)) throw new FsError('ENOTSYNC', 'ctime guard does not match');
  const owner = isRoot(cred) || cred.uid === rec.uid;
  let cutTo: number | undefined;
  let dataChanged = false;

  if (attrs.size !== undefined) {
    if (rec.type === 'dir') throw new FsError('EISDIR', `inode ${ino} is a directory`);
    if (rec.type !== 'file') throw new FsError('EINVAL', `inode ${ino} is not a regular file`);
    requireWriteData(cred, rec);
    if (attrs.size < rec.size) cutTo = attrs.size;
    if (attrs.size !== rec.size) dataChanged = true;
    rec.size = attrs.size;
    rec.mtime = m.now;
    if (!isRoot(cred)) rec.mode = killSuid(rec.mode);
  }
  applyOwnership(cred, rec, attrs);
  if (attrs.mode !== undefined) {
    if (!owner) throw new FsError('EPERM', `only the owner may change the mode of ${ino}`);
    let mode = attrs.mode & PERM_MASK;
    if (!isRoot(cred) && !inGroup(cred, rec.gid)) mode &= ~S_ISGID;
    if ((attrs.uid !== undefined || attrs.gid !== undefined) && rec.type !== 'dir') {
      mode &= ~S_ISUID;
      if (mode & 0o010) mode &= ~S_ISGID;
    }
    rec.mode = mode;
  }
  if (attrs.atime !== undefined) rec.atime = timeToSet(m, cred, rec, attrs.atime);
  if (attrs.mtime !== undefined) rec.mtime = timeToSet(m, cred, rec, attrs.mtime);

  rec.ctime = m.now;
  rec.metaVersion++;
  if (dataChanged) rec.dataVersion++;
  m.save(rec, dataChanged ? 'data' : 'metadata');
  return { wcc: { before, after: toAttributes(rec) }, cutTo };
}

function applyOwnership(cred: Credentials, rec: InodeRecord, attrs: SetAttributes): void {
  if (attrs.uid === undefined && attrs.gid === undefined) return;
  if (attrs.uid !== undefined && !isRoot(cred) && !(cred.uid === rec.uid && attrs.uid === rec.uid)) {
    throw new FsError('EPERM', `only root may change the owner of ${rec.ino}`);
  }
  if (attrs.gid !== undefined && !isRoot(cred)) {
    if (cred.uid !== rec.uid || (attrs.gid !== rec.gid && !inGroup(cred, attrs.gid))) {
      throw new FsError('EPERM', `not allowed to change the group of ${rec.ino} to ${attrs.gid}`);
    }
  }
  if (attrs.uid !== undefined) rec.uid = attrs.uid;
  if (attrs.gid !== undefined) rec.gid = attrs.gid;
  // A chown revokes set-id bits of non-directories (knfsd: ATTR_KILL_SUID | ATTR_KILL_SGID).
  if (rec.type !== 'dir' && attrs.mode === undefined) rec.mode = killSuid(rec.mode);
}

function timeToSet(m: Mutation, cred: Credentials, rec: InodeRecord, t: SetTime): Timestamp {
  if (t === 'now') {
    if (!isRoot(cred) && cred.uid !== rec.uid && !permits(cred, rec, W)) {
      throw new FsError('EACCES', `no permission to set the times of ${rec.ino}`);
    }
    return m.now;
  }
  if (!isRoot(cred) && cred.uid !== rec.uid) throw new FsError('EPERM', `only the owner may set explicit times on ${rec.ino}`);
  return t;
}
