// RFC 1813 section 3.3.6, procedure 6: READ — read from a file.
//
//   struct READ3args    { nfs_fh3 file; offset3 offset; count3 count; };
//   struct READ3resok   { post_op_attr file_attributes; count3 count; bool eof; opaque data<>; };
//   struct READ3resfail { post_op_attr file_attributes; };
//
// Failure body: post_op_attr of the file.
// A count above rtmax (1 MiB) is a short read of rtmax bytes, as FSINFO promises. The data is
// attached to the reply by reference (XdrWriter.opaqueRef): the up to 1 MiB buffer the
// FileSystem returns is handed to the socket without a copy, and given back to the FileSystem
// (ReadResult.release) once the socket is done with it.
import type { NfsProcedure } from '../call';
import { Proc, READ_MAX } from '../constants';
import { writePostOpAttr } from '../types';

const MAX_OFFSET = BigInt(Number.MAX_SAFE_INTEGER);

export const read: NfsProcedure = {
  proc: Proc.READ,
  name: 'READ',
  errorFormat: 'post_op_attr',
  async run(call, fail) {
    const fh = call.readHandle();
    const offset = call.args.uint64();
    const count = Math.min(call.args.uint32(), READ_MAX);
    const file = (fail.first = await call.resolve(fh));
    if (offset > MAX_OFFSET) {
      // No file here is that large (sizes are below 2^53): nothing to read, end of file.
      const w = call.ok();
      writePostOpAttr(w, file.attrs, file.exp.id);
      w.uint32(0).bool(true).uint32(0);
      return;
    }
    const res = await file.fs.read(call.credentials(file.exp), file.ino, Number(offset), count);
    const data = res.data.length > count ? res.data.subarray(0, count) : res.data;
    const w = call.ok();
    writePostOpAttr(w, res.attributes, file.exp.id);
    w.uint32(data.length);
    w.bool(res.eof);
    w.opaqueRef(data, res.release);
  },
};
