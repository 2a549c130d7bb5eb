// CREATE, MKDIR, SYMLINK, MKNOD, LINK (RFC 1813 3.3.8-3.3.11, 3.3.15), following knfsd:
// - a missing mode is 0 (knfsd does not invent one; the Linux client always sends it, or sends
//   SETATTR right after an exclusive create);
// - new inodes belong to the caller; in a setgid directory they take its group, and new
//   directories inherit the setgid bit (inode_init_owner);
// - uid/gid given in the attributes follow the chown rules (EPERM otherwise);
// - an exclusive CREATE keeps the client's verifier, so that a retransmission with the same
//   verifier finds the file it made and succeeds (another verifier: EEXIST).
import { FsError, type Attributes, type Created, type CreateMode, type Credentials, type FileType, type SetAttributes, type Wcc } from '../../vfs';
import type { FsCore } from '../core/core';
import { addEntry, findEntry } from '../meta/directory';
import { MAX_LINKS, PERM_MASK, S_ISGID, toAttributes, toWccAttributes, type InodeRecord } from '../meta/inode';
import type { Mutation } from '../meta/mutation';
import { checkNewName, MAX_SYMLINK_BYTES } from './names';
import { inGroup, isRoot, requireModifyDir, requireSearch } from './permissions';
import { setattr } from './setattr';

interface NodeSpec {
  type: FileType;
  mode: number;
  rdevMajor?: number;
  rdevMinor?: number;
  target?: string;
  verifier?: string;
}

/** The directory `dirIno` with search permission checked (ENOTDIR, EACCES). */
export function searchableDir(m: Mutation, cred: Credentials, dirIno: number): InodeRecord {
  const dir = m.inode(dirIno);
  if (dir.type !== 'dir') throw new FsError('ENOTDIR', `inode ${dirIno} is not a directory`);
  requireSearch(cred, dir);
  return dir;
}

/** Inside a transaction: makes a new inode named `name` in `dir` (name must be free). */
function makeNode(m: Mutation, cred: Credentials, dir: InodeRecord, name: string, spec: NodeSpec, attrs: SetAttributes): InodeRecord {
  requireModifyDir(cred, dir);
  if (spec.type === 'dir' && dir.nlink >= MAX_LINKS) throw new FsError('EMLINK', `directory ${dir.ino} has too many links`);
  const inheritGroup = (dir.mode & S_ISGID) !== 0;
  const uid = attrs.uid ?? cred.uid;
  const gid = attrs.gid ?? (inheritGroup ? dir.gid : cred.gid);
  if (!isRoot(cred) && uid !== cred.uid) throw new FsError('EPERM', 'only root may create files owned by others');
  if (!isRoot(cred) && attrs.gid !== undefined && !inGroup(cred, gid)) throw new FsError('EPERM', `not a member of group ${gid}`);
  let mode = spec.mode & PERM_MASK;
  if (spec.type === 'dir' && inheritGroup) mode |= S_ISGID;
  else if ((mode & (S_ISGID | 0o010)) === (S_ISGID | 0o010) && !isRoot(cred) && !inGroup(cred, gid)) mode &= ~S_ISGID;

  const rec = m.allocate({ type: spec.type, mode, uid, gid, rdevMajor: spec.rdevMajor, rdevMinor: spec.rdevMinor, target: spec.target, parent: dir.ino });
  if (spec.verifier) rec.verifier = spec.verifier;
  if (spec.type === 'file' && attrs.size) rec.size = attrs.size;
  if (attrs.atime && attrs.atime !== 'now') rec.atime = attrs.atime;
  if (attrs.mtime && attrs.mtime !== 'now') rec.mtime = attrs.mtime;
  m.save(rec);
  addEntry(m, dir, name, rec.ino);
  if (spec.type === 'dir') dir.nlink++;
  touchDir(m, dir);
  m.save(dir, 'entries');
  return rec;
}

export function touchDir(m: Mutation, dir: InodeRecord): void {
  dir.mtime = m.now;
  dir.ctime = m.now;
  dir.metaVersion++;
}

function created(rec: InodeRecord, before: Wcc['before'], dir: InodeRecord): Created {
  return { ino: rec.ino, attributes: toAttributes(rec), dir: { before, after: toAttributes(dir) } };
}

async function createNode(core: FsCore, cred: Credentials, dirIno: number, name: string, spec: NodeSpec, attrs: SetAttributes): Promise<Created> {
  checkNewName(name);
  return core.mutate((m) => {
    const dir = searchableDir(m, cred, dirIno);
    const before = toWccAttributes(dir);
    if (findEntry(m.store, dirIno, name)) throw new FsError('EEXIST', `'${name}' exists`);
    const rec = makeNode(m, cred, dir, name, spec, attrs);
    return created(rec, before, dir);
  });
}

export async function create(core: FsCore, cred: Credentials, dirIno: number, name: string, how: CreateMode): Promise<Created> {
  checkNewName(name);
  const attrs = how.kind === 'exclusive' ? {} : how.attributes;
  const verifier = how.kind === 'exclusive' ? how.verifier.toString('hex') : undefined;
  const result = await core.mutate((m) => {
    const dir = searchableDir(m, cred, dirIno);
    const before = toWccAttributes(dir);
    const existing = findEntry(m.store, dirIno, name);
    if (!existing) {
      const rec = makeNode(m, cred, dir, name, { type: 'file', mode: attrs.mode ?? 0, verifier }, attrs);
      // Born with its durable dirty mark (free in this transaction): its first stable write
      // then needs no LMDB commit of its own (data.ts).
      core.putDirtyMark(rec.ino);
      return { made: created(rec, before, dir), existed: false };
    }
    const rec = m.inode(existing.ino);
    const reuse =
      (how.kind === 'unchecked' && rec.type === 'file') ||
      (how.kind === 'exclusive' && rec.type === 'file' && rec.verifier !== undefined && rec.verifier === verifier);
    if (!reuse) throw new FsError('EEXIST', `'${name}' exists`);
    return { made: created(rec, before, dir), existed: true };
  });
  if (!result.existed) core.states.get(result.made.ino).marking ??= Promise.resolve();
  // UNCHECKED on an existing file is open(O_CREAT) without O_EXCL: only a size (O_TRUNC) applies.
  if (result.existed && how.kind === 'unchecked' && how.attributes.size !== undefined) {
    await setattr(core, cred, result.made.ino, { size: how.attributes.size });
    result.made.attributes = core.attributes(result.made.ino);
  }
  return result.made;
}

export function mkdir(core: FsCore, cred: Credentials, dirIno: number, name: string, attrs: SetAttributes): Promise<Created> {
  return createNode(core, cred, dirIno, name, { type: 'dir', mode: attrs.mode ?? 0 }, attrs);
}

export function symlink(core: FsCore, cred: Credentials, dirIno: number, name: string, target: string, attrs: SetAttributes): Promise<Created> {
  if (target.length === 0) throw new FsError('EINVAL', 'empty symlink target');
  if (Buffer.byteLength(target, 'utf8') > MAX_SYMLINK_BYTES) throw new FsError('ENAMETOOLONG', 'symlink target over 4096 bytes');
  if (target.includes('\0')) throw new FsError('EINVAL', 'symlink target contains NUL');
  // Symlink permissions are always 0777 on Linux; a mode in the request is ignored.
  return createNode(core, cred, dirIno, name, { type: 'symlink', mode: 0o777, target }, { ...attrs, mode: undefined });
}

export function mknod(
  core: FsCore,
  cred: Credentials,
  dirIno: number,
  name: string,
  type: 'block' | 'char' | 'socket' | 'fifo',
  attrs: SetAttributes,
  rdev: { major: number; minor: number },
): Promise<Created> {
  const device = type === 'block' || type === 'char';
  // Device nodes need CAP_MKNOD.
  if (device && !isRoot(cred)) throw new FsError('EPERM', 'only root may create device nodes');
  const spec: NodeSpec = { type, mode: attrs.mode ?? 0 };
  if (device) {
    spec.rdevMajor = rdev.major >>> 0;
    spec.rdevMinor = rdev.minor >>> 0;
  }
  return createNode(core, cred, dirIno, name, spec, attrs);
}

export async function link(core: FsCore, cred: Credentials, ino: number, dirIno: number, name: string): Promise<{ attributes: Attributes; dir: Wcc }> {
  checkNewName(name);
  return core.mutate((m) => {
    const rec = m.inode(ino);
    const dir = searchableDir(m, cred, dirIno);
    const before = toWccAttributes(dir);
    if (rec.type === 'dir') throw new FsError('EPERM', 'hard links to directories are not allowed');
    if (findEntry(m.store, dirIno, name)) throw new FsError('EEXIST', `'${name}' exists`);
    requireModifyDir(cred, dir);
    if (rec.nlink >= MAX_LINKS) throw new FsError('EMLINK', `inode ${ino} has too many links`);
    rec.nlink++;
    rec.ctime = m.now;
    rec.metaVersion++;
    m.save(rec);
    addEntry(m, dir, name, ino);
    touchDir(m, dir);
    m.save(dir, 'entries');
    return { attributes: toAttributes(rec), dir: { before, after: toAttributes(dir) } };
  });
}
