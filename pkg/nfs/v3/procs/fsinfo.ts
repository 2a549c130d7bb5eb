// RFC 1813 section 3.3.19, procedure 19: FSINFO — get static file system information.
//
//   struct FSINFO3args    { nfs_fh3 fsroot; };
//   struct FSINFO3resok   { post_op_attr obj_attributes; uint32 rtmax; uint32 rtpref; uint32 rtmult;
//                           uint32 wtmax; uint32 wtpref; uint32 wtmult; uint32 dtpref;
//                           size3 maxfilesize; nfstime3 time_delta; uint32 properties; };
//   struct FSINFO3resfail { post_op_attr obj_attributes; };
//
// Failure body: post_op_attr of the object.
// Transfer sizes are this server's (constants.ts); maxfilesize, time_delta and the link
// properties come from FileSystem.fsinfo(). PATHCONF answers the same for every object
// (HOMOGENEOUS) and SETATTR sets times as asked (CANSETTIME).
import type { FsInfo } from '../../../vfs';
import type { NfsProcedure } from '../call';
import { DIR_PREF, Fsf3, IO_MULTIPLE, Proc, READ_MAX, WRITE_MAX } from '../constants';
import { writeNfstime3, writePostOpAttr, writeU64 } from '../types';

export function fsinfoProperties(info: FsInfo): number {
  let p = Fsf3.HOMOGENEOUS | Fsf3.CANSETTIME;
  if (info.supportsHardLinks) p |= Fsf3.LINK;
  if (info.supportsSymlinks) p |= Fsf3.SYMLINK;
  return p;
}

export const fsinfo: NfsProcedure = {
  proc: Proc.FSINFO,
  name: 'FSINFO',
  errorFormat: 'post_op_attr',
  async run(call, fail) {
    const fh = call.readHandle();
    const obj = (fail.first = await call.resolve(fh));
    const info = obj.fs.fsinfo();
    const delta = Math.max(1, Math.floor(info.timeDeltaNs));
    const w = call.ok();
    writePostOpAttr(w, obj.attrs, obj.exp.id);
    w.uint32(READ_MAX).uint32(READ_MAX).uint32(IO_MULTIPLE);
    w.uint32(WRITE_MAX).uint32(WRITE_MAX).uint32(IO_MULTIPLE);
    w.uint32(DIR_PREF);
    writeU64(w, info.maxFileSize);
    writeNfstime3(w, { sec: Math.floor(delta / 1e9), nsec: delta % 1e9 });
    w.uint32(fsinfoProperties(info));
  },
};
