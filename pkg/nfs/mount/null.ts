// RFC 1813 §5.2.0 Procedure 0: Null - Do nothing
//
//   void MOUNTPROC3_NULL(void) = 0;
import type { ProcedureHandler } from '../rpc/program';

export function nullProc(): ProcedureHandler {
  return () => {};
}
