// RFC 1813 section 3.3.15, procedure 15: LINK — create a hard link.
//
//   struct LINK3args    { nfs_fh3 file; diropargs3 link; };
//   struct LINK3resok   { post_op_attr file_attributes; wcc_data linkdir_wcc; };
//   struct LINK3resfail { post_op_attr file_attributes; wcc_data linkdir_wcc; };
//
// Failure body: post_op_attr of the file and wcc_data of the directory.
// A link across exports → NFS3ERR_XDEV; linking a directory is the FileSystem's EISDIR/EPERM.
import { assertSameExport, checkName, type NfsProcedure } from '../call';
import { Proc } from '../constants';
import { writePostOpAttr, writeWccData } from '../types';

export const link: NfsProcedure = {
  proc: Proc.LINK,
  name: 'LINK',
  errorFormat: 'post_op_attr+wcc_data',
  async run(call, fail) {
    const fileFh = call.readHandle();
    const dirFh = call.readHandle();
    const rawName = call.readName();
    const file = (fail.first = await call.resolve(fileFh));
    const dir = (fail.second = await call.resolve(dirFh));
    const name = checkName(rawName, 'create');
    assertSameExport(file, dir);
    call.assertWritable(dir.exp);
    const res = await dir.fs.link(call.credentials(dir.exp), file.ino, dir.ino, name);
    const w = call.ok();
    writePostOpAttr(w, res.attributes, file.exp.id);
    writeWccData(w, res.dir, dir.exp.id);
  },
};
