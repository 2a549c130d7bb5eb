// RFC 1813 section 3.3.0, procedure 0: NULL — do nothing.
//
//   void NFSPROC3_NULL(void) = 0;
//
// No arguments, no result, no file system access (clients time the server with it).
// Failure body: none (it cannot fail at the NFS level).
import type { NfsProcedure } from '../call';
import { Proc } from '../constants';

export const nullProc: NfsProcedure = {
  proc: Proc.NULL,
  name: 'NULL',
  errorFormat: 'void',
  run: () => Promise.resolve(),
};
