// RFC 1813 section 3.3.21, procedure 21: COMMIT — commit cached data to stable storage.
//
//   struct COMMIT3args    { nfs_fh3 file; offset3 offset; count3 count; };
//   struct COMMIT3resok   { wcc_data file_wcc; writeverf3 verf; };
//   struct COMMIT3resfail { wcc_data file_wcc; };
//
// Failure body: wcc_data of the file.
// The FileSystem makes everything written to the file durable (offset/count are advisory),
// then we answer with the same per-start verifier WRITE returned: a client whose verifier
// changed between WRITE and COMMIT re-sends its unstable data. Allowed on read-only exports
// (there is nothing to commit, and refusing would only turn close() into an error).
import type { NfsProcedure } from '../call';
import { Proc } from '../constants';
import { writeWccData } from '../types';

const MAX_OFFSET = BigInt(Number.MAX_SAFE_INTEGER);

export const commit: NfsProcedure = {
  proc: Proc.COMMIT,
  name: 'COMMIT',
  errorFormat: 'wcc_data',
  async run(call, fail) {
    const fh = call.readHandle();
    const offset = call.args.uint64();
    const count = call.args.uint32();
    const file = (fail.first = await call.resolve(fh));
    const start = Number(offset > MAX_OFFSET ? MAX_OFFSET : offset);
    const wcc = await file.fs.commit(call.credentials(file.exp), file.ino, start, count);
    const w = call.ok();
    writeWccData(w, wcc, file.exp.id);
    w.fixedOpaque(call.deps.writeVerifier);
  },
};
