// RFC 1813 section 3.3.16, procedure 16: READDIR — read from a directory.
//
//   struct READDIR3args    { nfs_fh3 dir; cookie3 cookie; cookieverf3 cookieverf; count3 count; };
//   struct entry3          { fileid3 fileid; filename3 name; cookie3 cookie; entry3 *nextentry; };
//   struct dirlist3        { entry3 *entries; bool eof; };
//   struct READDIR3resok   { post_op_attr dir_attributes; cookieverf3 cookieverf; dirlist3 reply; };
//   struct READDIR3resfail { post_op_attr dir_attributes; };
//
// Failure body: post_op_attr of the directory.
// Cookie and verifier go to the FileSystem unchanged (cookie 0 starts; a verifier it can no
// longer honour is EBADCOOKIE → NFS3ERR_BAD_COOKIE). `count` is honoured to the byte
// (dirlist.ts); if not even one entry fits → NFS3ERR_TOOSMALL.
import type { NfsProcedure } from '../call';
import { Proc } from '../constants';
import { cookieVerf, maxEntriesFor, readDirArgs, selectEntries } from '../dirlist';
import { writePostOpAttr, writeU64 } from '../types';

export const readdir: NfsProcedure = {
  proc: Proc.READDIR,
  name: 'READDIR',
  errorFormat: 'post_op_attr',
  async run(call, fail) {
    const { fh, cookie, verifier } = readDirArgs(call.args, () => call.readHandle());
    const count = call.args.uint32();
    const dir = (fail.first = await call.resolve(fh));
    const res = await dir.fs.readdir(call.credentials(dir.exp), dir.ino, {
      cookie,
      verifier,
      maxEntries: maxEntriesFor(Infinity, count, false),
      withAttributes: false,
    });
    const selected = selectEntries(res.entries, Infinity, count, false);
    const w = call.ok();
    writePostOpAttr(w, res.dirAttributes, dir.exp.id);
    w.fixedOpaque(cookieVerf(res.verifier));
    for (const { entry, name } of selected) {
      w.uint32(1);
      writeU64(w, entry.ino);
      w.opaque(name);
      w.uint64(entry.cookie);
    }
    w.uint32(0);
    w.bool(res.eof && selected.length === res.entries.length);
  },
};
