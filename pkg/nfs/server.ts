// One NFS server: MOUNT v3 and NFS v3 on a single TCP port, serving any number of exports
// that come and go while it runs. This is the composition root of pkg/nfs; it knows the
// FileSystem interface and nothing about what implements it.
import { randomBytes } from 'node:crypto';
import { logger as makeLogger, type Logger } from '../log/logger';
import { metrics } from '../metrics/registry';
import type { FileSystem } from '../vfs';
import { ExportRegistry, type Export, type ExportOptions } from './exports';
import { HandleCodec, loadHandleSecret } from './handles';
import { createMountProgram, MountProc } from './mount';
import { RpcServer, type CallObserver } from './rpc';
import { Proc } from './v3/constants';
import { createNfsProgram } from './v3/program';

export interface NfsServerOptions {
  /** Where the handle secret lives; handles stay valid as long as this directory does. */
  stateDir: string;
  /** Changes on every start so clients resend UNSTABLE writes that were not committed. */
  writeVerifier?: Buffer;
  maxRecordBytes?: number;
  logger?: Logger;
}

export class NfsServer {
  readonly exports = new ExportRegistry();
  private readonly rpc: RpcServer;
  private readonly log: Logger;
  private address?: { address: string; port: number };

  private constructor(handles: HandleCodec, writeVerifier: Buffer, options: NfsServerOptions) {
    this.log = options.logger ?? makeLogger('nfs');
    const deps = { exports: this.exports, handles, logger: this.log };
    this.rpc = new RpcServer({
      programs: [createMountProgram(deps), createNfsProgram({ ...deps, writeVerifier })],
      maxRecordBytes: options.maxRecordBytes,
      logger: this.log,
      onCall: observeCalls(makeLogger('nfs-calls')),
    });
  }

  static async create(options: NfsServerOptions): Promise<NfsServer> {
    const secret = await loadHandleSecret(options.stateDir);
    const verifier = options.writeVerifier ?? randomBytes(8);
    return new NfsServer(new HandleCodec(secret), verifier, options);
  }

  addExport(name: string, fs: FileSystem, options: Partial<ExportOptions> = {}): Export {
    const exp = this.exports.add(name, fs, options);
    this.log.info('export added', { export: exp.path, readOnly: exp.options.readOnly });
    return exp;
  }

  /** Stops serving the export (its handles become stale) and closes its file system. */
  async removeExport(name: string): Promise<boolean> {
    const exp = this.exports.remove(name);
    if (!exp) return false;
    await exp.fs.close();
    this.log.info('export removed', { export: exp.path });
    return true;
  }

  async listen(host: string, port: number): Promise<{ address: string; port: number }> {
    this.address = await this.rpc.listen(host, port);
    return this.address;
  }

  /**
   * Stops accepting and drops connections (the port is free at once), then waits for the calls
   * already running; the exports stay open. Shutdown does this first.
   */
  stopServing(): Promise<void> {
    return this.rpc.close();
  }

  /** Stops accepting, drops connections, then flushes and closes every export. */
  async close(): Promise<void> {
    await this.rpc.close();
    for (const exp of this.exports.list()) {
      this.exports.remove(exp.path);
      await exp.fs.close();
    }
  }
}

const PROCEDURE_NAMES: Record<string, Record<number, string>> = {
  nfs: invert(Proc),
  mount: invert(MountProc),
};

function invert(table: Record<string, number>): Record<number, string> {
  return Object.fromEntries(Object.entries(table).map(([name, n]) => [n, name.toLowerCase()]));
}

/** Counts and times every call; with S3FILES_TRACE=nfs-calls also logs each one. */
function observeCalls(trace: Logger): CallObserver {
  const m = metrics();
  // Decided once: trace lines pass only for subsystems named in S3FILES_TRACE, read at start,
  // and asking winston per call showed in profiles.
  const tracing = trace.isDebugEnabled();
  // Label objects per program and procedure, made once instead of per call.
  const labels = new Map<string, Map<number, CallLabels>>();
  const labelsFor = (program: string, procedure: number): CallLabels => {
    let byProc = labels.get(program);
    if (byProc === undefined) labels.set(program, (byProc = new Map()));
    let l = byProc.get(procedure);
    if (l === undefined) {
      const name = PROCEDURE_NAMES[program.toLowerCase()]?.[procedure] ?? String(procedure);
      l = { name, duration: { program, procedure: name }, outcomes: new Map() };
      byProc.set(procedure, l);
    }
    return l;
  };
  return ({ program, procedure, durationNs, outcome }) => {
    const l = labelsFor(program, procedure);
    let counted = l.outcomes.get(outcome);
    if (counted === undefined) l.outcomes.set(outcome, (counted = { program, procedure: l.name, outcome }));
    m.rpcCalls.inc(counted);
    const seconds = Number(durationNs) / 1e9;
    m.rpcDuration.observe(l.duration, seconds);
    if (tracing) trace.debug('call', { program, procedure: l.name, outcome, micros: Math.round(seconds * 1e6) });
  };
}

interface CallLabels {
  name: string;
  duration: { program: string; procedure: string };
  outcomes: Map<string, { program: string; procedure: string; outcome: string }>;
}
