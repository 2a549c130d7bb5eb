// RFC 1813 section 3.3.14, procedure 14: RENAME — rename a file or directory.
//
//   struct RENAME3args    { diropargs3 from; diropargs3 to; };
//   struct RENAME3resok   { wcc_data fromdir_wcc; wcc_data todir_wcc; };
//   struct RENAME3resfail { wcc_data fromdir_wcc; wcc_data todir_wcc; };
//
// Failure body: wcc_data of both directories.
// Directories of two exports are two file systems to the client → NFS3ERR_XDEV. "." and ".."
// as either name → NFS3ERR_INVAL (the RFC's IMPLEMENTATION section). Moving a directory into
// its own subtree is the FileSystem's EINVAL; renaming a file onto a hard link of itself is
// a successful no-op there, as the RFC asks.
import { assertSameExport, checkName, type NfsProcedure } from '../call';
import { Proc } from '../constants';
import { writeWccData } from '../types';

export const rename: NfsProcedure = {
  proc: Proc.RENAME,
  name: 'RENAME',
  errorFormat: 'wcc_data×2',
  async run(call, fail) {
    const fromFh = call.readHandle();
    const rawFrom = call.readName();
    const toFh = call.readHandle();
    const rawTo = call.readName();
    const from = (fail.first = await call.resolve(fromFh));
    const to = (fail.second = await call.resolve(toFh));
    const fromName = checkName(rawFrom, 'remove');
    const toName = checkName(rawTo, 'remove');
    assertSameExport(from, to);
    call.assertWritable(from.exp);
    const res = await from.fs.rename(call.credentials(from.exp), from.ino, fromName, to.ino, toName);
    const w = call.ok();
    writeWccData(w, res.from, from.exp.id);
    writeWccData(w, res.to, to.exp.id);
  },
};
