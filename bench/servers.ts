// The servers the benchmark compares, each started inside the benchmark's network namespace
// only for its own guest run, so the two never compete for the machine's two cores.
import { existsSync, mkdirSync } from 'fs';
import { join, resolve } from 'path';
import { startGanesha } from '../test/support/ganesha';
import { NfsMountSpec, TestNetwork } from '../test/support/uml';

export interface RunningTarget {
  /** What the guest mounts (mountPoint is filled in by the caller). */
  mount: Omit<NfsMountSpec, 'mountPoint'>;
  /** Server output, attached to failures. */
  output(): string;
  stop(): Promise<void>;
}

export interface TargetDef {
  name: string;
  start(net: TestNetwork): Promise<RunningTarget>;
}

/** The repository root, from dist/bench/ or bench/. */
const REPO_ROOT = resolve(__dirname, __dirname.includes('/dist/') ? '../..' : '..');

export function s3filesTarget(opts: { bin?: string; port: number; extraArgs: string[] }): TargetDef {
  return {
    name: 's3files',
    async start(net) {
      const bin = opts.bin ?? join(REPO_ROOT, 'bin', 's3files');
      if (!existsSync(bin)) throw new Error(`${bin} not found`);
      const cacheDir = join(net.makeTempDir('s3files'), 'cache');
      mkdirSync(cacheDir);
      const args = [
        bin, 'serve', '--cache-dir', cacheDir, '--listen', `${net.hostIp}:${opts.port}`, '--export', 'bench',
        ...opts.extraArgs,
      ];
      const server = await net.startServer(process.execPath, args, {
        port: opts.port,
        timeoutMs: 30_000,
        logFile: join(cacheDir, '..', 'serve.log'),
      });
      return {
        mount: { host: net.hostIp, port: opts.port, exportPath: '/bench' },
        output: () => server.output(),
        stop: () => server.stop(10_000),
      };
    },
  };
}

export function ganeshaTarget(): TargetDef {
  return {
    name: 'ganesha',
    async start(net) {
      if (!existsSync('/usr/bin/ganesha.nfsd')) throw new Error('ganesha.nfsd not installed (nfs-ganesha, nfs-ganesha-vfs)');
      const exportDir = join(net.makeTempDir('ganesha-export'), 'bench');
      mkdirSync(exportDir);
      const g = await startGanesha(net, { exportDir });
      return {
        mount: { host: g.host, port: g.nfsPort, mountPort: g.mountPort, exportPath: g.exportPath },
        output: () => g.output(),
        stop: () => g.stop(),
      };
    },
  };
}
