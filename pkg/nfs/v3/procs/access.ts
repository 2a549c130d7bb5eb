// RFC 1813 section 3.3.4, procedure 4: ACCESS — check access permission.
//
//   struct ACCESS3args    { nfs_fh3 object; uint32 access; };
//   struct ACCESS3resok   { post_op_attr obj_attributes; uint32 access; };
//   struct ACCESS3resfail { post_op_attr obj_attributes; };
//
// Failure body: post_op_attr of the object. The FileSystem decides the granted subset; a
// read-only export never grants MODIFY, EXTEND or DELETE (the client would only meet ROFS).
import type { NfsProcedure } from '../call';
import { ACCESS3_ALL, ACCESS3_WRITE_BITS, Proc } from '../constants';
import { writePostOpAttr } from '../types';

export const access: NfsProcedure = {
  proc: Proc.ACCESS,
  name: 'ACCESS',
  errorFormat: 'post_op_attr',
  async run(call, fail) {
    const fh = call.readHandle();
    const mask = call.args.uint32() & ACCESS3_ALL;
    const obj = (fail.first = await call.resolve(fh));
    const res = await obj.fs.access(call.credentials(obj.exp), obj.ino, mask);
    let granted = res.granted & mask;
    if (obj.exp.options.readOnly) granted &= ~ACCESS3_WRITE_BITS;
    const w = call.ok();
    writePostOpAttr(w, res.attributes, obj.exp.id);
    w.uint32(granted);
  },
};
