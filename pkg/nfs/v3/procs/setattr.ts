// RFC 1813 section 3.3.2, procedure 2: SETATTR — set file attributes.
//
//   union sattrguard3 switch (bool check) {
//     case TRUE:  nfstime3 obj_ctime;
//     case FALSE: void;
//   };
//   struct SETATTR3args   { nfs_fh3 object; sattr3 new_attributes; sattrguard3 guard; };
//   struct SETATTR3resok  { wcc_data obj_wcc; };
//   struct SETATTR3resfail { wcc_data obj_wcc; };
//
// Failure body: wcc_data of the object. The guard is checked by the FileSystem atomically
// with the change; a mismatch (ENOTSYNC) answers NFS3ERR_NOT_SYNC.
import type { NfsProcedure } from '../call';
import { Proc } from '../constants';
import { readSattr3, readSattrGuard3, writeWccData } from '../types';

export const setattr: NfsProcedure = {
  proc: Proc.SETATTR,
  name: 'SETATTR',
  errorFormat: 'wcc_data',
  async run(call, fail) {
    const fh = call.readHandle();
    const attrs = readSattr3(call.args);
    const guard = readSattrGuard3(call.args);
    const obj = (fail.first = await call.resolve(fh));
    call.assertWritable(obj.exp);
    const wcc = await obj.fs.setattr(call.credentials(obj.exp), obj.ino, attrs, guard);
    writeWccData(call.ok(), wcc, obj.exp.id);
  },
};
