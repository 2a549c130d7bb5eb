// RFC 1813 §5.2.2 Procedure 2: DUMP - Return mount entries
//
//   mountlist MOUNTPROC3_DUMP(void) = 2;
//   typedef struct mountbody *mountlist;
//   struct mountbody { name ml_hostname; dirpath ml_directory; mountlist ml_next; };
//   typedef string name<MNTNAMLEN>;
//
// The list is XDR optional-data chained: TRUE entry TRUE entry ... FALSE.
import type { ProcedureHandler } from '../rpc/program';
import type { MountContext } from './context';

export function dump(m: MountContext): ProcedureHandler {
  return (_args, reply) => {
    for (const { host, path } of m.table.list()) reply.bool(true).string(host).string(path);
    reply.bool(false);
  };
}
