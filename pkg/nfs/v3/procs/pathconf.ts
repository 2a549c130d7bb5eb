// RFC 1813 section 3.3.20, procedure 20: PATHCONF — retrieve POSIX information.
//
//   struct PATHCONF3args    { nfs_fh3 object; };
//   struct PATHCONF3resok   { post_op_attr obj_attributes; uint32 linkmax; uint32 name_max;
//                             bool no_trunc; bool chown_restricted; bool case_insensitive;
//                             bool case_preserving; };
//   struct PATHCONF3resfail { post_op_attr obj_attributes; };
//
// Failure body: post_op_attr of the object.
// name_max is what both this layer (255) and the FileSystem accept; no_trunc is TRUE because
// longer names are refused with NAMETOOLONG, never truncated; chown_restricted is TRUE
// (only root gives files away); the case flags are the FileSystem's.
import type { NfsProcedure } from '../call';
import { NAME_MAX_BYTES, Proc } from '../constants';
import { writePostOpAttr } from '../types';

export const pathconf: NfsProcedure = {
  proc: Proc.PATHCONF,
  name: 'PATHCONF',
  errorFormat: 'post_op_attr',
  async run(call, fail) {
    const fh = call.readHandle();
    const obj = (fail.first = await call.resolve(fh));
    const info = obj.fs.fsinfo();
    const w = call.ok();
    writePostOpAttr(w, obj.attrs, obj.exp.id);
    w.uint32(info.maxLinks);
    w.uint32(Math.min(NAME_MAX_BYTES, info.maxNameBytes));
    w.bool(true);
    w.bool(true);
    w.bool(info.caseInsensitive);
    w.bool(info.casePreserving);
  },
};
