// RFC 1813 section 3.3.10, procedure 10: SYMLINK — create a symbolic link.
//
//   struct symlinkdata3    { sattr3 symlink_attributes; nfspath3 symlink_data; };
//   struct SYMLINK3args    { diropargs3 where; symlinkdata3 symlink; };
//   struct SYMLINK3resok   { post_op_fh3 obj; post_op_attr obj_attributes; wcc_data dir_wcc; };
//   struct SYMLINK3resfail { wcc_data dir_wcc; };
//
// Failure body: wcc_data of the directory.
// The target is stored as text (it becomes an S3 object body): longer than PATH_MAX →
// NAMETOOLONG, a NUL byte or bytes that are not UTF-8 → INVAL (symlink(2) cannot hold a NUL;
// non-UTF-8 targets would not survive the round trip through a string).
import { isUtf8 } from 'node:buffer';
import { checkName, type NfsProcedure } from '../call';
import { Nfsstat3, PATH_MAX_BYTES, Proc } from '../constants';
import { NfsStatusError } from '../status';
import { readSattr3 } from '../types';

export const symlink: NfsProcedure = {
  proc: Proc.SYMLINK,
  name: 'SYMLINK',
  errorFormat: 'wcc_data',
  async run(call, fail) {
    const fh = call.readHandle();
    const rawName = call.readName();
    const attrs = readSattr3(call.args);
    const rawTarget = call.args.opaque(0xffff_ffff);
    const dir = (fail.first = await call.resolve(fh));
    const name = checkName(rawName, 'create');
    if (rawTarget.length > PATH_MAX_BYTES) throw new NfsStatusError(Nfsstat3.NAMETOOLONG);
    if (rawTarget.indexOf(0) !== -1 || !isUtf8(rawTarget)) throw new NfsStatusError(Nfsstat3.INVAL);
    call.assertWritable(dir.exp);
    const created = await dir.fs.symlink(call.credentials(dir.exp), dir.ino, name, rawTarget.toString('utf8'), attrs);
    call.writeCreated(dir, created);
  },
};
