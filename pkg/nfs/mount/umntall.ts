// RFC 1813 §5.2.4 Procedure 4: UMNTALL - Remove all mount entries
//
//   void MOUNTPROC3_UMNTALL(void) = 4;
//
// Removes every entry of the calling host from the mount list.
import type { ProcedureHandler } from '../rpc/program';
import type { MountContext } from './context';

export function umntall(m: MountContext): ProcedureHandler {
  return (_args, _reply, ctx) => {
    m.table.removeHost(ctx.remoteAddress);
    m.notice.write('info', `unmounted all ${ctx.remoteAddress}`, 'unmounted all', { client: ctx.remoteAddress });
  };
}
