// RFC 1813 section 3.3.5, procedure 5: READLINK — read from a symbolic link.
//
//   struct READLINK3args    { nfs_fh3 symlink; };
//   struct READLINK3resok   { post_op_attr symlink_attributes; nfspath3 data; };
//   struct READLINK3resfail { post_op_attr symlink_attributes; };
//
// Failure body: post_op_attr of the object (not a symlink → the FileSystem's EINVAL).
import type { NfsProcedure } from '../call';
import { Proc } from '../constants';
import { writePostOpAttr } from '../types';

export const readlink: NfsProcedure = {
  proc: Proc.READLINK,
  name: 'READLINK',
  errorFormat: 'post_op_attr',
  async run(call, fail) {
    const fh = call.readHandle();
    const obj = (fail.first = await call.resolve(fh));
    const { target, attributes } = await obj.fs.readlink(call.credentials(obj.exp), obj.ino);
    const w = call.ok();
    writePostOpAttr(w, attributes, obj.exp.id);
    w.string(target);
  },
};
