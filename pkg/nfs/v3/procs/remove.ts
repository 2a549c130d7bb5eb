// RFC 1813 section 3.3.12, procedure 12: REMOVE — remove a file.
//
//   struct REMOVE3args    { diropargs3 object; };
//   struct REMOVE3resok   { wcc_data dir_wcc; };
//   struct REMOVE3resfail { wcc_data dir_wcc; };
//
// Failure body: wcc_data of the directory.
// Removing a directory is the FileSystem's EISDIR → NFS3ERR_ISDIR (what Linux knfsd answers,
// from vfs_unlink); RMDIR is the procedure for directories.
import { checkName, type NfsProcedure } from '../call';
import { Proc } from '../constants';
import { writeWccData } from '../types';

export const remove: NfsProcedure = {
  proc: Proc.REMOVE,
  name: 'REMOVE',
  errorFormat: 'wcc_data',
  async run(call, fail) {
    const fh = call.readHandle();
    const rawName = call.readName();
    const dir = (fail.first = await call.resolve(fh));
    const name = checkName(rawName, 'remove');
    call.assertWritable(dir.exp);
    const wcc = await dir.fs.remove(call.credentials(dir.exp), dir.ino, name);
    writeWccData(call.ok(), wcc, dir.exp.id);
  },
};
