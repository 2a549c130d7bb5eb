// RFC 1813 section 3.3.13, procedure 13: RMDIR — remove a directory.
//
//   struct RMDIR3args    { diropargs3 object; };
//   struct RMDIR3resok   { wcc_data dir_wcc; };
//   struct RMDIR3resfail { wcc_data dir_wcc; };
//
// Failure body: wcc_data of the parent directory.
// "." and ".." → NFS3ERR_INVAL (see checkName); not empty → NOTEMPTY, not a directory →
// NOTDIR, both from the FileSystem.
import { checkName, type NfsProcedure } from '../call';
import { Proc } from '../constants';
import { writeWccData } from '../types';

export const rmdir: NfsProcedure = {
  proc: Proc.RMDIR,
  name: 'RMDIR',
  errorFormat: 'wcc_data',
  async run(call, fail) {
    const fh = call.readHandle();
    const rawName = call.readName();
    const dir = (fail.first = await call.resolve(fh));
    const name = checkName(rawName, 'remove');
    call.assertWritable(dir.exp);
    const wcc = await dir.fs.rmdir(call.credentials(dir.exp), dir.ino, name);
    writeWccData(call.ok(), wcc, dir.exp.id);
  },
};
