// nfs-ganesha (VFS FSAL) as a reference NFSv3 server inside a TestNetwork, set up as
// TESTING.md describes: rpcbind and ganesha get a private /run inside the namespace (ganesha
// does not serve without rpcbind, and /run/rpcbind.sock is otherwise shared by every namespace).
// Nothing is mounted on the host: the tmpfs on /run lives in the mount namespace that
// `ip netns exec` creates, and goes away with the processes.
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { TestNetwork, NsServer } from './netns';
import { stopProcess } from './proc';

export interface GaneshaOptions {
  /** Local directory to export (read-write, no root squash). */
  exportDir: string;
  /** Where the config, log, pid file and recovery dir go (default: a temp dir of the network). */
  workDir?: string;
  nfsPort?: number;
  /** Must differ from nfsPort: ganesha did not serve MOUNT on the NFS port here. */
  mountPort?: number;
  timeoutMs?: number;
}

export interface GaneshaServer {
  host: string;
  nfsPort: number;
  mountPort: number;
  /** The path to mount: for NFSv3 ganesha exports the directory under its real path. */
  exportPath: string;
  logPath: string;
  server: NsServer;
  /** Log file plus the daemon's own output, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

function ganeshaConfig(exportDir: string, workDir: string, nfsPort: number, mountPort: number): string {
  return `NFS_CORE_PARAM {
  NFS_Port = ${nfsPort};
  MNT_Port = ${mountPort};
  Protocols = 3;
  Enable_NLM = false;
  Enable_RQUOTA = false;
}
NFS_KRB5 { Active_krb5 = false; }
NFSV4 {
  Graceless = true;
  # Keep NFSv4 client-recovery state in the test directory, not /var/lib/nfs/ganesha.
  RecoveryRoot = "${join(workDir, 'recovery')}";
}
EXPORT {
  Export_Id = 1;
  Path = "${exportDir}";
  Pseudo = /export;
  Access_Type = RW;
  Squash = No_Root_Squash;
  Protocols = 3;
  Transports = TCP;
  SecType = sys;
  FSAL { Name = VFS; }
}
`;
}

/**
 * Starts rpcbind and ganesha.nfsd (foreground, so the spawned process is ganesha itself) in the
 * namespace and resolves once both the NFS and MOUNT ports accept connections.
 */
export async function startGanesha(net: TestNetwork, opts: GaneshaOptions): Promise<GaneshaServer> {
  const workDir = opts.workDir ?? net.makeTempDir('ganesha');
  const nfsPort = opts.nfsPort ?? 2049;
  const mountPort = opts.mountPort ?? 20048;
  const conf = join(workDir, 'ganesha.conf');
  const logPath = join(workDir, 'ganesha.log');
  writeFileSync(conf, ganeshaConfig(opts.exportDir, workDir, nfsPort, mountPort));
  // rpcbind -f stays a child of this shell, which then becomes ganesha: both are in the process
  // group that stop() and net.destroy() kill.
  const script = [
    'mount -t tmpfs tmp /run || exit 1',
    'rpcbind -w -f &',
    'i=0; while [ ! -S /run/rpcbind.sock ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done',
    `exec ganesha.nfsd -F -f ${conf} -L ${logPath} -p ${join(workDir, 'ganesha.pid')} -N NIV_WARN`,
  ].join('\n');
  const server = await net.startServer('sh', ['-c', script], {
    port: nfsPort,
    timeoutMs: opts.timeoutMs ?? 30_000,
    logFile: join(workDir, 'ganesha.out'),
  });
  try {
    await net.waitForTcp(mountPort, { timeoutMs: opts.timeoutMs ?? 30_000, watch: server.child });
  } catch (err) {
    await server.stop(1_000);
    throw err;
  }
  return {
    host: net.hostIp,
    nfsPort,
    mountPort,
    exportPath: opts.exportDir,
    logPath,
    server,
    output: () => `${readTail(logPath)}\n${server.output()}`,
    // ganesha shuts down cleanly on SIGTERM within a second or two; SIGKILL after 10 s.
    stop: () => stopProcess(server.child, 10_000),
  };
}

function readTail(path: string, lines = 40): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
