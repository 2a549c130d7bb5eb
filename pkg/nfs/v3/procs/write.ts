// RFC 1813 section 3.3.7, procedure 7: WRITE — write to a file.
//
//   enum stable_how { UNSTABLE = 0, DATA_SYNC = 1, FILE_SYNC = 2 };
//   struct WRITE3args    { nfs_fh3 file; offset3 offset; count3 count; stable_how stable; opaque data<>; };
//   struct WRITE3resok   { wcc_data file_wcc; count3 count; stable_how committed; writeverf3 verf; };
//   struct WRITE3resfail { wcc_data file_wcc; };
//
// Failure body: wcc_data of the file.
// `count` must equal the length of `data`; otherwise the arguments are malformed and the
// answer is GARBAGE_ARGS, as Linux knfsd does (nfs3svc_decode_writeargs). More than wtmax
// (1 MiB) is a short write of wtmax bytes, as FSINFO promises. `committed` is what the
// FileSystem achieved, never more (STYLE.md: honest WRITE/COMMIT), and `verf` is the
// server's per-start verifier, so a client re-sends unstable data after a restart.
// The data is a view into the RPC record: the FileSystem must copy what it keeps.
import type { Stability } from '../../../vfs';
import type { NfsProcedure } from '../call';
import { Nfsstat3, Proc, STABLE_HOW_VALUES, StableHow, WRITE_MAX } from '../constants';
import { NfsStatusError } from '../status';
import { writeWccData } from '../types';
import { XdrError } from '../../xdr';

const MAX_OFFSET = BigInt(Number.MAX_SAFE_INTEGER);

const STABILITY: readonly Stability[] = ['unstable', 'data-sync', 'file-sync'];
const STABLE_HOW: Readonly<Record<Stability, StableHow>> = {
  unstable: StableHow.UNSTABLE,
  'data-sync': StableHow.DATA_SYNC,
  'file-sync': StableHow.FILE_SYNC,
};

export const write: NfsProcedure = {
  proc: Proc.WRITE,
  name: 'WRITE',
  errorFormat: 'wcc_data',
  async run(call, fail) {
    const fh = call.readHandle();
    const offset = call.args.uint64();
    const count = call.args.uint32();
    const stable = call.args.enumOf(STABLE_HOW_VALUES, 'stable_how');
    let data = call.args.opaque(0xffff_ffff);
    if (data.length !== count) throw new XdrError(`WRITE count ${count} differs from data length ${data.length}`);
    if (data.length > WRITE_MAX) data = data.subarray(0, WRITE_MAX);
    const file = (fail.first = await call.resolve(fh));
    call.assertWritable(file.exp);
    if (offset + BigInt(data.length) > MAX_OFFSET) throw new NfsStatusError(Nfsstat3.FBIG);
    const res = await file.fs.write(call.credentials(file.exp), file.ino, Number(offset), data, STABILITY[stable] ?? 'file-sync');
    const w = call.ok();
    writeWccData(w, res.file, file.exp.id);
    w.uint32(res.count);
    w.uint32(STABLE_HOW[res.committed]);
    w.fixedOpaque(call.deps.writeVerifier);
  },
};
