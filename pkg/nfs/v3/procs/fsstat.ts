// RFC 1813 section 3.3.18, procedure 18: FSSTAT — get dynamic file system information.
//
//   struct FSSTAT3args    { nfs_fh3 fsroot; };
//   struct FSSTAT3resok   { post_op_attr obj_attributes; size3 tbytes; size3 fbytes; size3 abytes;
//                           size3 tfiles; size3 ffiles; size3 afiles; uint32 invarsec; };
//   struct FSSTAT3resfail { post_op_attr obj_attributes; };
//
// Failure body: post_op_attr of the object.
// invarsec is 0: the file system changes at any time (S3 imports, other pods).
import type { NfsProcedure } from '../call';
import { Proc } from '../constants';
import { writePostOpAttr, writeU64 } from '../types';

export const fsstat: NfsProcedure = {
  proc: Proc.FSSTAT,
  name: 'FSSTAT',
  errorFormat: 'post_op_attr',
  async run(call, fail) {
    const fh = call.readHandle();
    const obj = (fail.first = await call.resolve(fh));
    const s = await obj.fs.fsstat(obj.ino);
    const w = call.ok();
    writePostOpAttr(w, obj.attrs, obj.exp.id);
    writeU64(w, s.totalBytes);
    writeU64(w, s.freeBytes);
    writeU64(w, s.availableBytes);
    writeU64(w, s.totalFiles);
    writeU64(w, s.freeFiles);
    writeU64(w, s.availableFiles);
    w.uint32(0);
  },
};
