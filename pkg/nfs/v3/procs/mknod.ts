// RFC 1813 section 3.3.11, procedure 11: MKNOD — create a special device.
//
//   struct devicedata3 { sattr3 dev_attributes; specdata3 spec; };
//   union mknoddata3 switch (ftype3 type) {
//     case NF3CHR: case NF3BLK:   devicedata3 device;
//     case NF3SOCK: case NF3FIFO: sattr3 pipe_attributes;
//     default:                    void;
//   };
//   struct MKNOD3args    { diropargs3 where; mknoddata3 what; };
//   struct MKNOD3resok   { post_op_fh3 obj; post_op_attr obj_attributes; wcc_data dir_wcc; };
//   struct MKNOD3resfail { wcc_data dir_wcc; };
//
// Failure body: wcc_data of the directory.
// NF3REG, NF3DIR and NF3LNK have their own procedures: NFS3ERR_BADTYPE, as the RFC says. A
// value outside ftype3 is not a valid union discriminant: GARBAGE_ARGS.
import type { SetAttributes } from '../../../vfs';
import { checkName, type NfsProcedure } from '../call';
import { FTYPE3_VALUES, Ftype3, Nfsstat3, Proc } from '../constants';
import { NfsStatusError } from '../status';
import { readSattr3, readSpecdata3 } from '../types';

type NodeType = 'block' | 'char' | 'socket' | 'fifo';

export const mknod: NfsProcedure = {
  proc: Proc.MKNOD,
  name: 'MKNOD',
  errorFormat: 'wcc_data',
  async run(call, fail) {
    const fh = call.readHandle();
    const rawName = call.readName();
    const ftype = call.args.enumOf(FTYPE3_VALUES, 'ftype3');
    let type: NodeType | undefined;
    let attrs: SetAttributes = {};
    let rdev = { major: 0, minor: 0 };
    if (ftype === Ftype3.CHR || ftype === Ftype3.BLK) {
      type = ftype === Ftype3.CHR ? 'char' : 'block';
      attrs = readSattr3(call.args);
      rdev = readSpecdata3(call.args);
    } else if (ftype === Ftype3.SOCK || ftype === Ftype3.FIFO) {
      type = ftype === Ftype3.SOCK ? 'socket' : 'fifo';
      attrs = readSattr3(call.args);
    }
    const dir = (fail.first = await call.resolve(fh));
    const name = checkName(rawName, 'create');
    if (type === undefined) throw new NfsStatusError(Nfsstat3.BADTYPE);
    call.assertWritable(dir.exp);
    const created = await dir.fs.mknod(call.credentials(dir.exp), dir.ino, name, type, attrs, rdev);
    call.writeCreated(dir, created);
  },
};
