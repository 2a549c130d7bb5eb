// RFC 1813 §5.2.1 Procedure 1: MNT - Add mount entry
//
//   mountres3 MOUNTPROC3_MNT(dirpath) = 1;
//   typedef string dirpath<MNTPATHLEN>;
//   typedef opaque fhandle3<FHSIZE3>;
//   struct mountres3_ok { fhandle3 fhandle; int auth_flavors<>; };
//   union mountres3 switch (mountstat3 fhs_status) {
//     case MNT3_OK: mountres3_ok mountinfo;
//     default: void;
//   };
//
// A dirpath longer than MNTPATHLEN does not decode, so it gets GARBAGE_ARGS (as from
// rpc.mountd, whose xdr_dirpath has the same bound). Only export roots can be mounted.
import { describeError } from '../../log/logger';
import { isFsError, type FsErrorCode } from '../../vfs';
import { AUTH_SYS } from '../rpc/auth';
import type { ProcedureHandler } from '../rpc/program';
import { MNTPATHLEN, MountStat3 } from './constants';
import type { MountContext } from './context';

/**
 * Only AUTH_SYS. The Linux client reads AUTH_NONE in this list as "the server ignores
 * credentials" and would then accept sec=none mounts, whose callers our NFS layer treats as
 * anonymous — so listing it would promise what we do not do.
 */
export const MOUNT_AUTH_FLAVORS: readonly number[] = [AUTH_SYS];

const STATUS_FOR: Partial<Record<FsErrorCode, MountStat3>> = {
  ENOENT: MountStat3.MNT3ERR_NOENT,
  ESTALE: MountStat3.MNT3ERR_NOENT,
  EACCES: MountStat3.MNT3ERR_ACCES,
  EPERM: MountStat3.MNT3ERR_PERM,
  ENOTDIR: MountStat3.MNT3ERR_NOTDIR,
  EIO: MountStat3.MNT3ERR_IO,
};

export function mnt(m: MountContext): ProcedureHandler {
  return async (args, reply, ctx) => {
    const dirpath = args.string(MNTPATHLEN);
    const exp = m.exports.byName(dirpath);
    if (!exp) {
      m.notice.write('info', `refused ${ctx.remoteAddress}`, 'mount refused: no such export', { client: ctx.remoteAddress, path: dirpath });
      reply.uint32(MountStat3.MNT3ERR_NOENT);
      return;
    }
    const rootIno = exp.fs.rootIno;
    let generation: number;
    try {
      generation = (await exp.fs.getattr(rootIno)).generation;
    } catch (err) {
      if (!isFsError(err)) throw err;
      const status = STATUS_FOR[err.code] ?? MountStat3.MNT3ERR_SERVERFAULT;
      m.log.warn('mount failed: export root unavailable', {
        client: ctx.remoteAddress,
        export: exp.path,
        status,
        error: describeError(err),
      });
      reply.uint32(status);
      return;
    }
    reply.uint32(MountStat3.MNT3_OK).opaque(m.handles.encode(exp.id, rootIno, generation));
    reply.uint32(MOUNT_AUTH_FLAVORS.length);
    for (const flavor of MOUNT_AUTH_FLAVORS) reply.uint32(flavor);
    m.table.add(ctx.remoteAddress, exp.path);
    m.notice.write('info', `mounted ${ctx.remoteAddress} ${exp.path}`, 'mounted', { client: ctx.remoteAddress, export: exp.path });
  };
}
