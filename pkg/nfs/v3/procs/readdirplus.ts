// RFC 1813 section 3.3.17, procedure 17: READDIRPLUS — extended read from a directory.
//
//   struct READDIRPLUS3args    { nfs_fh3 dir; cookie3 cookie; cookieverf3 cookieverf;
//                                count3 dircount; count3 maxcount; };
//   struct entryplus3          { fileid3 fileid; filename3 name; cookie3 cookie;
//                                post_op_attr name_attributes; post_op_fh3 name_handle;
//                                entryplus3 *nextentry; };
//   struct dirlistplus3        { entryplus3 *entries; bool eof; };
//   struct READDIRPLUS3resok   { post_op_attr dir_attributes; cookieverf3 cookieverf; dirlistplus3 reply; };
//   struct READDIRPLUS3resfail { post_op_attr dir_attributes; };
//
// Failure body: post_op_attr of the directory.
// Both budgets are honoured to the byte (dirlist.ts). Each entry carries its attributes and a
// handle (HandleCodec, with the generation from those attributes), so the client needs no
// LOOKUP; an entry the FileSystem returned without attributes gets neither.
import type { NfsProcedure } from '../call';
import { Proc } from '../constants';
import { cookieVerf, maxEntriesFor, readDirArgs, selectEntries } from '../dirlist';
import { writePostOpAttr, writePostOpFh3, writeU64 } from '../types';

export const readdirplus: NfsProcedure = {
  proc: Proc.READDIRPLUS,
  name: 'READDIRPLUS',
  errorFormat: 'post_op_attr',
  async run(call, fail) {
    const { fh, cookie, verifier } = readDirArgs(call.args, () => call.readHandle());
    const dircount = call.args.uint32();
    const maxcount = call.args.uint32();
    const dir = (fail.first = await call.resolve(fh));
    const res = await dir.fs.readdir(call.credentials(dir.exp), dir.ino, {
      cookie,
      verifier,
      maxEntries: maxEntriesFor(dircount, maxcount, true),
      withAttributes: true,
    });
    const selected = selectEntries(res.entries, dircount, maxcount, true);
    const fsid = dir.exp.id;
    const w = call.ok();
    writePostOpAttr(w, res.dirAttributes, fsid);
    w.fixedOpaque(cookieVerf(res.verifier));
    for (const { entry, name } of selected) {
      const a = entry.attributes;
      w.uint32(1);
      writeU64(w, entry.ino);
      w.opaque(name);
      w.uint64(entry.cookie);
      writePostOpAttr(w, a, fsid);
      writePostOpFh3(w, a === undefined ? undefined : call.handleFor(dir.exp, entry.ino, a.generation));
    }
    w.uint32(0);
    w.bool(res.eof && selected.length === res.entries.length);
  },
};
