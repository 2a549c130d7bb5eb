// RFC 1813 section 3.3.9, procedure 9: MKDIR — create a directory.
//
//   struct MKDIR3args    { diropargs3 where; sattr3 attributes; };
//   struct MKDIR3resok   { post_op_fh3 obj; post_op_attr obj_attributes; wcc_data dir_wcc; };
//   struct MKDIR3resfail { wcc_data dir_wcc; };
//
// Failure body: wcc_data of the parent directory.
import { checkName, type NfsProcedure } from '../call';
import { Proc } from '../constants';
import { readSattr3 } from '../types';

export const mkdir: NfsProcedure = {
  proc: Proc.MKDIR,
  name: 'MKDIR',
  errorFormat: 'wcc_data',
  async run(call, fail) {
    const fh = call.readHandle();
    const rawName = call.readName();
    const attrs = readSattr3(call.args);
    const dir = (fail.first = await call.resolve(fh));
    const name = checkName(rawName, 'create');
    call.assertWritable(dir.exp);
    const created = await dir.fs.mkdir(call.credentials(dir.exp), dir.ino, name, attrs);
    call.writeCreated(dir, created);
  },
};
