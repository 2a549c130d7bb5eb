// RFC 1813 §5.2.5 Procedure 5: EXPORT - Return export list
//
//   exports MOUNTPROC3_EXPORT(void) = 5;
//   typedef struct groupnode *groups;
//   struct groupnode { name gr_name; groups gr_next; };
//   typedef struct exportnode *exports;
//   struct exportnode { dirpath ex_dir; groups ex_groups; exports ex_next; };
//
// Every export is open to every client that can reach the port, so each one's group list is
// empty (FALSE), which clients such as showmount print as "(everyone)".
import type { ProcedureHandler } from '../rpc/program';
import type { MountContext } from './context';

export function exportProc(m: MountContext): ProcedureHandler {
  return (_args, reply) => {
    for (const exp of m.exports.list()) reply.bool(true).string(exp.path).bool(false);
    reply.bool(false);
  };
}
