// RFC 1813 section 3.3.1, procedure 1: GETATTR — get file attributes.
//
//   struct GETATTR3args  { nfs_fh3 object; };
//   struct GETATTR3resok { fattr3 obj_attributes; };
//   union GETATTR3res switch (nfsstat3 status) {
//     case NFS3_OK: GETATTR3resok resok;
//     default:      void;
//   };
//
// Failure body: void. Resolving the handle already reads the attributes (and checks the
// generation), so this is one FileSystem call.
import type { NfsProcedure } from '../call';
import { Proc } from '../constants';
import { writeFattr3 } from '../types';

export const getattr: NfsProcedure = {
  proc: Proc.GETATTR,
  name: 'GETATTR',
  errorFormat: 'void',
  async run(call) {
    const fh = call.readHandle();
    const obj = await call.resolve(fh);
    writeFattr3(call.ok(), obj.attrs, obj.exp.id);
  },
};
