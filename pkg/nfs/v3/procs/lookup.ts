// RFC 1813 section 3.3.3, procedure 3: LOOKUP — look up a file name.
//
//   struct diropargs3    { nfs_fh3 dir; filename3 name; };
//   struct LOOKUP3args   { diropargs3 what; };
//   struct LOOKUP3resok  { nfs_fh3 object; post_op_attr obj_attributes; post_op_attr dir_attributes; };
//   struct LOOKUP3resfail { post_op_attr dir_attributes; };
//
// Failure body: post_op_attr of the directory (NOENT included, so a client can cache the
// negative lookup against the directory's mtime).
// "." names the directory itself and ".." its parent (RFC 1813 section 3.2, items 2 and 3);
// ".." of the export root is the root, so a client cannot climb out of an export. Other
// ".." lookups go to the FileSystem, which knows parents.
import type { Attributes } from '../../../vfs';
import { checkName, type NfsCall, type NfsProcedure, type Resolved } from '../call';
import { Access3, Nfsstat3, Proc } from '../constants';
import { NfsStatusError } from '../status';
import { writePostOpAttr } from '../types';

export const lookup: NfsProcedure = {
  proc: Proc.LOOKUP,
  name: 'LOOKUP',
  errorFormat: 'post_op_attr',
  async run(call, fail) {
    const fh = call.readHandle();
    const rawName = call.readName();
    const dir = (fail.first = await call.resolve(fh));
    const name = checkName(rawName, 'lookup');
    const cred = call.credentials(dir.exp);
    if (name === '.' || (name === '..' && dir.ino === dir.fs.rootIno)) {
      // The directory itself, with the search permission any lookup in it needs.
      if (dir.attrs.type !== 'dir') throw new NfsStatusError(Nfsstat3.NOTDIR);
      const { granted } = await dir.fs.access(cred, dir.ino, Access3.LOOKUP);
      if ((granted & Access3.LOOKUP) === 0) throw new NfsStatusError(Nfsstat3.ACCES);
      return writeFound(call, dir, fh, dir.attrs, dir.attrs);
    }
    const found = await dir.fs.lookup(cred, dir.ino, name);
    const handle = call.handleFor(dir.exp, found.ino, found.attributes.generation);
    writeFound(call, dir, handle, found.attributes, found.dirAttributes);
  },
};

function writeFound(call: NfsCall, dir: Resolved, handle: Buffer, attrs: Attributes, dirAttrs: Attributes): void {
  const w = call.ok();
  w.opaque(handle);
  writePostOpAttr(w, attrs, dir.exp.id);
  writePostOpAttr(w, dirAttrs, dir.exp.id);
}
