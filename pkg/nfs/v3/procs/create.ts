// RFC 1813 section 3.3.8, procedure 8: CREATE — create a regular file.
//
//   enum createmode3 { UNCHECKED = 0, GUARDED = 1, EXCLUSIVE = 2 };
//   union createhow3 switch (createmode3 mode) {
//     case UNCHECKED:
//     case GUARDED:   sattr3 obj_attributes;
//     case EXCLUSIVE: createverf3 verf;
//   };
//   struct CREATE3args    { diropargs3 where; createhow3 how; };
//   struct CREATE3resok   { post_op_fh3 obj; post_op_attr obj_attributes; wcc_data dir_wcc; };
//   struct CREATE3resfail { wcc_data dir_wcc; };
//
// Failure body: wcc_data of the directory.
// The modes' semantics (UNCHECKED may open an existing file, GUARDED answers EXIST,
// EXCLUSIVE stores the 8-byte verifier so that a retransmission succeeds) belong to the
// FileSystem, which gets them as a CreateMode.
import { checkName, type NfsProcedure } from '../call';
import { Proc } from '../constants';
import { readCreateHow3 } from '../types';

export const create: NfsProcedure = {
  proc: Proc.CREATE,
  name: 'CREATE',
  errorFormat: 'wcc_data',
  async run(call, fail) {
    const fh = call.readHandle();
    const rawName = call.readName();
    const how = readCreateHow3(call.args);
    const dir = (fail.first = await call.resolve(fh));
    const name = checkName(rawName, 'create');
    call.assertWritable(dir.exp);
    const created = await dir.fs.create(call.credentials(dir.exp), dir.ino, name, how);
    call.writeCreated(dir, created);
  },
};
