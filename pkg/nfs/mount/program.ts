// The MOUNT v3 program (RFC 1813 appendix I): how clients get the root file handle of an
// export. It reads only an export's `fs.rootIno` and `fs.getattr(rootIno)`.
import { logger } from '../../log/logger';
import { RateLimitedLog } from '../../log/rate-limited';
import type { ProcedureHandler, RpcProgram } from '../rpc/program';
import { MOUNT_PROGRAM, MOUNT_V3, MountProc } from './constants';
import type { MountContext, MountDeps } from './context';
import { dump } from './dump';
import { exportProc } from './export';
import { mnt } from './mnt';
import { MountTable } from './mount-table';
import { nullProc } from './null';
import { umnt } from './umnt';
import { umntall } from './umntall';

export function createMountProgram(deps: MountDeps): RpcProgram {
  const log = deps.logger ?? logger('mount');
  const m: MountContext = { exports: deps.exports, handles: deps.handles, table: new MountTable(), log, notice: new RateLimitedLog(log) };
  const procedures = new Map<number, ProcedureHandler>([
    [MountProc.NULL, nullProc()],
    [MountProc.MNT, mnt(m)],
    [MountProc.DUMP, dump(m)],
    [MountProc.UMNT, umnt(m)],
    [MountProc.UMNTALL, umntall(m)],
    [MountProc.EXPORT, exportProc(m)],
  ]);
  return { program: MOUNT_PROGRAM, name: 'mount', versions: new Map([[MOUNT_V3, procedures]]) };
}
