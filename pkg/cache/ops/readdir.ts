// READDIR / READDIRPLUS (RFC 1813 3.3.16, 3.3.17). '.' and '..' come first with cookies 1 and
// 2, then entries in cookie order. Cookies come from a per-directory counter and are never
// reused or moved (directory.ts), so they never go stale: the verifier is constant for a
// directory (derived from its inode number and generation), and a cookie past the end simply
// gives an empty, eof answer. A client that sends a verifier of another directory (or of a
// re-used inode) gets EBADCOOKIE.
import { FsError, type Credentials, type DirEntry, type ReadDirOptions, type ReadDirResult } from '../../vfs';
import type { FsCore } from '../core/core';
import { listEntries } from '../meta/directory';
import { FIRST_COOKIE, toAttributes, type InodeRecord } from '../meta/inode';
import { R, requirePerm } from './permissions';

export function dirVerifier(dir: InodeRecord): Buffer {
  const v = Buffer.alloc(8);
  v.writeUInt32BE(dir.gen >>> 0, 0);
  v.writeUInt32BE(dir.ino % 2 ** 32, 4);
  return v;
}

export function readdir(core: FsCore, cred: Credentials, dirIno: number, opts: ReadDirOptions): ReadDirResult {
  const dir = core.record(dirIno);
  if (dir.type !== 'dir') throw new FsError('ENOTDIR', `inode ${dirIno} is not a directory`);
  requirePerm(cred, dir, R, `no read permission on directory ${dirIno}`);
  const verifier = dirVerifier(dir);
  if (opts.cookie !== 0n && !opts.verifier.equals(verifier) && !opts.verifier.equals(Buffer.alloc(opts.verifier.length))) {
    throw new FsError('EBADCOOKIE', 'cookie verifier is not this directory');
  }
  if (opts.cookie < 0n || opts.cookie > BigInt(Number.MAX_SAFE_INTEGER)) throw new FsError('EBADCOOKIE', 'cookie out of range');
  const max = Math.max(1, opts.maxEntries);
  const entries: DirEntry[] = [];
  const withAttrs = (ino: number): DirEntry['attributes'] => {
    if (!opts.withAttributes) return undefined;
    const rec = core.inodes.get(ino);
    return rec ? toAttributes(rec) : undefined;
  };
  const after = Number(opts.cookie);
  if (after < 1) entries.push({ name: '.', ino: dir.ino, cookie: 1n, attributes: withAttrs(dir.ino) });
  if (after < 2 && entries.length < max) entries.push({ name: '..', ino: dir.parent!, cookie: 2n, attributes: withAttrs(dir.parent!) });
  let eof = true;
  if (entries.length < max) {
    const want = max - entries.length;
    // One extra to know whether this page is the last.
    const listed = listEntries(core.store, dirIno, Math.max(after, FIRST_COOKIE - 1), want + 1);
    eof = listed.length <= want;
    for (const e of listed.slice(0, want)) {
      entries.push({ name: e.name, ino: e.ino, cookie: BigInt(e.cookie), attributes: withAttrs(e.ino) });
    }
  } else {
    // The page is full with '.' (and '..'): eof only if '..' was sent and nothing follows.
    eof = entries[entries.length - 1]!.cookie === 2n && listEntries(core.store, dirIno, FIRST_COOKIE - 1, 1).length === 0;
  }
  if (opts.withAttributes) for (const e of entries) if (!e.attributes) delete e.attributes;
  core.touchAtime(dirIno);
  return { entries, eof, verifier, dirAttributes: core.attributes(dirIno) };
}
