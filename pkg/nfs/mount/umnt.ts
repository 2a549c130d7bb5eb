// RFC 1813 §5.2.3 Procedure 3: UMNT - Remove mount entry
//
//   void MOUNTPROC3_UMNT(dirpath) = 3;
//
// Removes the caller's entry from the mount list; file handles stay valid (NFSv3 has no
// mount state), and unmounting something never mounted is not an error.
import type { ProcedureHandler } from '../rpc/program';
import { MNTPATHLEN } from './constants';
import { mountKey, type MountContext } from './context';

export function umnt(m: MountContext): ProcedureHandler {
  return (args, _reply, ctx) => {
    const dirpath = args.string(MNTPATHLEN);
    m.table.remove(ctx.remoteAddress, mountKey(dirpath));
    m.notice.write('info', `unmounted ${ctx.remoteAddress} ${dirpath}`, 'unmounted', { client: ctx.remoteAddress, path: dirpath });
  };
}
