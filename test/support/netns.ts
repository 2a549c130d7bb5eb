// A private network namespace with a tap device for one UML guest. All test traffic stays in
// 10.213.N.0/24 inside the namespace: the host side of the tap is 10.213.N.1, the guest 10.213.N.2.
// Namespaces are named s3f-<pid>-<N>; a namespace whose pid is dead was leaked by a crashed run
// and is removed (with every process still inside it) the first time a network is created.
import { ChildProcess, spawn, SpawnOptions } from 'child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  isAlive, killTree, mustRun, OutputTail, runCommand, runCommandSync, sleep, stopProcess,
  waitForPidsGone,
} from './proc';

const NAME_RE = /^s3f-(\d+)-(\d+)$/;
const TMP_RE = /^s3f-(\d+)-/;
const MAX_INDEX = 250;
const live = new Set<TestNetwork>();
let staleSwept = false;
let exitHookInstalled = false;

export interface StartServerOptions {
  /** TCP port the server listens on at host (default: the network's host IP). */
  port: number;
  host?: string;
  /** How long to wait for the port to accept connections (default 20 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Also append the server's stdout and stderr to this file. */
  logFile?: string;
}

/** A server process running inside a TestNetwork. */
export interface NsServer {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The last 64 KiB of the server's stdout and stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL after graceMs, to the server and everything it started. */
  stop(graceMs?: number): Promise<void>;
}

async function listNamespaces(): Promise<string[]> {
  const out = await mustRun('ip', ['netns', 'list']);
  return out.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((n) => n.length > 0);
}

async function nsPids(name: string): Promise<number[]> {
  const r = await runCommand('ip', ['netns', 'pids', name]);
  return r.stdout.split(/\s+/).filter(Boolean).map(Number);
}

/** Removes namespaces and temp dirs left by earlier runs whose process is gone. */
async function sweepStale(): Promise<void> {
  for (const name of await listNamespaces()) {
    const m = NAME_RE.exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    const pids = await nsPids(name);
    for (const pid of pids) killTree(pid, 'SIGKILL');
    await waitForPidsGone(pids, 5_000);
    await runCommand('ip', ['netns', 'delete', name]);
  }
  for (const entry of readdirSync(tmpdir())) {
    const m = TMP_RE.exec(entry);
    if (m && !isAlive(Number(m[1]))) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
}

/** Best-effort synchronous teardown when the process exits without calling destroy(). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const net of live) net.destroySync();
  });
}

export class TestNetwork {
  readonly hostIp: string;
  readonly guestIp: string;
  readonly prefixLength = 24;
  /** The tap device inside the namespace that the UML guest attaches to as eth0. */
  readonly tap: string;
  private readonly children = new Set<ChildProcess>();
  private readonly tempDirs: string[] = [];
  private guestQueue: Promise<unknown> = Promise.resolve();
  private destroyed = false;

  private constructor(readonly name: string, readonly index: number) {
    this.hostIp = `10.213.${index}.1`;
    this.guestIp = `10.213.${index}.2`;
    this.tap = `s3ft${index}`;
  }

  /**
   * Creates the namespace: lo up, a tap device with host address 10.213.N.1/24, up. N is the
   * lowest index no other s3f-* namespace uses; if two processes race for the same N the one
   * with the higher pid backs off and tries the next.
   */
  static async create(): Promise<TestNetwork> {
    if (!staleSwept) {
      staleSwept = true;
      await sweepStale();
    }
    installExitHook();
    for (let attempt = 0; attempt < 20; attempt++) {
      const index = await TestNetwork.freeIndex();
      const name = `s3f-${process.pid}-${index}`;
      if ((await runCommand('ip', ['netns', 'add', name])).code !== 0) continue;
      const net = new TestNetwork(name, index);
      live.add(net);
      if (await net.lostRace()) {
        await net.destroy();
        await sleep(20 + Math.random() * 100);
        continue;
      }
      try {
        await net.configure();
      } catch (err) {
        await net.destroy();
        throw err;
      }
      return net;
    }
    throw new Error('could not allocate a test network namespace');
  }

  private static async freeIndex(): Promise<number> {
    const used = new Set<number>();
    for (const name of await listNamespaces()) {
      const m = NAME_RE.exec(name);
      if (m) used.add(Number(m[2]));
    }
    for (let i = 1; i <= MAX_INDEX; i++) if (!used.has(i)) return i;
    throw new Error('all 10.213.N.0/24 test subnets are in use');
  }

  private async lostRace(): Promise<boolean> {
    for (const other of await listNamespaces()) {
      const m = NAME_RE.exec(other);
      if (m && other !== this.name && Number(m[2]) === this.index && Number(m[1]) < process.pid) return true;
    }
    return false;
  }

  private async configure(): Promise<void> {
    const inNs = (...args: string[]): Promise<string> => mustRun('ip', ['netns', 'exec', this.name, ...args]);
    await inNs('ip', 'link', 'set', 'lo', 'up');
    await inNs('ip', 'tuntap', 'add', this.tap, 'mode', 'tap');
    await inNs('ip', 'addr', 'add', `${this.hostIp}/${this.prefixLength}`, 'dev', this.tap);
    await inNs('ip', 'link', 'set', this.tap, 'up');
    // UML's guest kernel sometimes leaves a received TCP segment unprocessed (and unacked) until
    // the next packet arrives: the NFS client then sits idle until the sender's retransmission
    // timer fires, 200 ms by default (measured on the tap: the reply is sent once, the guest's
    // TcpExt DelayedACKLost counts the duplicate, and its next call follows the retransmit by
    // ~0.2 ms; 2-11 times per 6,000 calls, for nfs-ganesha and s3files alike). A 10 ms floor on
    // this route's RTO (the host side, the guest keeps its own) bounds each such stall to ~10 ms
    // instead of adding ~200 ms to whichever call hit it.
    // S3FILES_TEST_RTO_MIN: another floor (e.g. 200ms, the kernel's default) or "off".
    const rtoMin = process.env.S3FILES_TEST_RTO_MIN ?? '10ms';
    if (rtoMin !== 'off') {
      const subnet = `${this.hostIp.replace(/\.1$/, '.0')}/${this.prefixLength}`;
      await inNs('ip', 'route', 'change', subnet, 'dev', this.tap, 'proto', 'kernel', 'scope', 'link', 'src', this.hostIp, 'rto_min', rtoMin);
    }
  }

  /**
   * Starts cmd inside the namespace (own mount namespace too, courtesy of `ip netns exec`) as
   * a process-group leader, so that destroy() can kill it with everything it forks.
   */
  spawnInNs(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    this.assertLive();
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...opts,
      detached: true,
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    // Spawn failures surface as 'error'; keep them from becoming uncaught exceptions.
    child.on('error', () => undefined);
    return child;
  }

  /** Runs a command inside the namespace to completion. */
  execInNs(cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
    return mustRun('ip', ['netns', 'exec', this.name, cmd, ...args], timeoutMs);
  }

  /**
   * Waits until host:port accepts TCP connections from inside the namespace, by running a tiny
   * Node poller there. Rejects early if `watch` (the server) exits first.
   */
  async waitForTcp(port: number, opts: { host?: string; timeoutMs?: number; watch?: ChildProcess } = {}): Promise<void> {
    const host = opts.host ?? this.hostIp;
    const timeoutMs = opts.timeoutMs ?? 20_000;
    const poller = this.spawnInNs(process.execPath, ['-e', POLLER, host, String(port), String(timeoutMs)], {
      stdio: 'ignore',
    });
    const polled = new Promise<void>((resolve, reject) => {
      poller.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`${host}:${port} not accepting connections after ${timeoutMs} ms`)));
      poller.once('error', reject);
    });
    const watched = opts.watch;
    const died = new Promise<void>((_, reject) => {
      if (!watched) return;
      const onExit = (code: number | null, sig: string | null): void =>
        reject(new Error(`server exited (code ${code}, signal ${sig}) before listening on ${host}:${port}`));
      if (watched.exitCode !== null || watched.signalCode !== null) onExit(watched.exitCode, watched.signalCode);
      else watched.once('exit', onExit);
    });
    try {
      await Promise.race([polled, died]);
    } finally {
      if (poller.exitCode === null && poller.pid !== undefined) killTree(poller.pid, 'SIGKILL');
    }
  }

  /** Starts a TCP server inside the namespace and resolves once its port accepts connections. */
  async startServer(cmd: string, args: string[], opts: StartServerOptions): Promise<NsServer> {
    const tail = new OutputTail();
    const logFd = opts.logFile ? openSync(opts.logFile, 'a') : undefined;
    const child = this.spawnInNs(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const sink = (chunk: Buffer): void => {
      tail.append(chunk);
      if (logFd !== undefined) {
        try {
          writeSync(logFd, chunk);
        } catch {
          // The log file is a convenience; losing it must not break the test.
        }
      }
    };
    child.stdout?.on('data', sink);
    child.stderr?.on('data', sink);
    // 'close' comes after the last stdout/stderr chunk; 'exit' may come before it.
    child.once('close', () => {
      if (logFd !== undefined) closeSync(logFd);
    });
    const server: NsServer = {
      child,
      pid: child.pid ?? -1,
      output: () => tail.toString(),
      stop: (graceMs = 5_000) => stopProcess(child, graceMs),
    };
    try {
      await this.waitForTcp(opts.port, { host: opts.host, timeoutMs: opts.timeoutMs, watch: child });
    } catch (err) {
      await server.stop(1_000);
      const out = tail.toString().trim().split('\n').slice(-20).join('\n');
      throw new Error(`${(err as Error).message}\n--- ${cmd} output (tail) ---\n${out}`);
    }
    return server;
  }

  /** A fresh directory under the system temp dir, removed by destroy() (unless S3FILES_KEEP_TMP=1). */
  makeTempDir(label: string): string {
    const dir = mkdtempSync(join(tmpdir(), `s3f-${process.pid}-${label}-`));
    this.tempDirs.push(dir);
    return dir;
  }

  /** Runs fn with exclusive use of the tap device: one UML guest at a time per network. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.guestQueue.then(fn, fn);
    this.guestQueue = run.catch(() => undefined);
    return run;
  }

  /** Kills everything started in the namespace, deletes it and the temp dirs. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.children].map((c) => stopProcess(c, 2_000)));
    const pids = await nsPids(this.name);
    for (const pid of pids) killTree(pid, 'SIGKILL');
    await waitForPidsGone(pids, 5_000);
    await runCommand('ip', ['netns', 'delete', this.name]);
    this.removeTempDirs();
    live.delete(this);
  }

  /** destroy() for process 'exit' handlers. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const c of this.children) if (c.pid !== undefined) killTree(c.pid, 'SIGKILL');
    for (const p of runCommandSync('ip', ['netns', 'pids', this.name]).split(/\s+/).filter(Boolean)) {
      killTree(Number(p), 'SIGKILL');
    }
    runCommandSync('ip', ['netns', 'delete', this.name]);
    this.removeTempDirs();
    live.delete(this);
  }

  private removeTempDirs(): void {
    if (process.env.S3FILES_KEEP_TMP === '1') return;
    for (const dir of this.tempDirs) rmSync(dir, { recursive: true, force: true });
  }

  private assertLive(): void {
    if (this.destroyed) throw new Error(`network ${this.name} was destroyed`);
  }
}

// Runs inside the namespace: exit 0 as soon as host:port accepts a connection, 1 at the deadline.
const POLLER = `
const net = require('net');
const [host, port, ms] = process.argv.slice(1);
const deadline = Date.now() + Number(ms);
(function attempt() {
  const s = net.connect({ host, port: Number(port) });
  s.setTimeout(1000);
  s.once('connect', () => { s.destroy(); process.exit(0); });
  const retry = () => { s.destroy(); if (Date.now() > deadline) process.exit(1); setTimeout(attempt, 50); };
  s.once('error', retry);
  s.once('timeout', retry);
})();
`;
