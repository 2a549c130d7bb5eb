// Starts and stops `bin/s3files serve` as a child process for integration and e2e tests:
// spawn (optionally inside a network namespace), wait for its "serving" log line, SIGTERM
// with a SIGKILL fallback, and SIGKILL + restart on the same port and cache dir (the
// restart test). stderr is kept in a file and its tail is attached to every failure.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** The repository root, from dist/test/support/ or test/support/. */
export const REPO_ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');
export const S3FILES_BIN = path.join(REPO_ROOT, 'bin', 's3files');

/** How to start a process: node's spawn, or e.g. the harness's spawnInNs bound to a netns. */
export type Spawner = (command: string, args: string[], options: SpawnOptions) => ChildProcess;

export interface ServeOptions {
  cacheDir: string;
  host: string;
  port: number;
  exports: string[];
  /** stderr of every start is appended here (default: CACHE_DIR/../s3files-serve.log). */
  logFile?: string;
  spawner?: Spawner;
  readyTimeoutMs?: number;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

/** A port that was free a moment ago on HOST (bind to 0, read it, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export class S3filesServer {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private tail: string[] = [];
  readonly logFile: string;
  /** Number of times the server process was started. */
  starts = 0;

  private constructor(readonly options: ServeOptions) {
    this.logFile = options.logFile ?? path.join(path.dirname(path.resolve(options.cacheDir)), 's3files-serve.log');
  }

  static async start(options: ServeOptions): Promise<S3filesServer> {
    const server = new S3filesServer(options);
    await server.launch();
    return server;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines the server wrote to stderr, for assertion messages. */
  logTail(lines = 40): string {
    return this.tail.slice(-lines).join('\n');
  }

  private args(): string[] {
    const o = this.options;
    return [
      // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server under a benchmark
      ...(process.env.S3FILES_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
      S3FILES_BIN, 'serve',
      '--cache-dir', o.cacheDir,
      '--listen', `${o.host}:${o.port}`,
      '--export', o.exports.join(','),
      ...(o.extraArgs ?? []),
    ];
  }

  private async launch(): Promise<void> {
    const o = this.options;
    fs.mkdirSync(o.cacheDir, { recursive: true });
    const log = fs.createWriteStream(this.logFile, { flags: 'a' });
    log.write(`--- start ${this.starts + 1} at ${new Date().toISOString()}: node ${this.args().join(' ')}\n`);
    const spawner = o.spawner ?? spawn;
    const child = spawner(process.execPath, this.args(), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, S3FILES_LOG_LEVEL: 'info', ...o.env },
    });
    this.child = child;
    this.starts += 1;
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
    child.on('close', () => log.end());

    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      const timer = setTimeout(() => {
        // Not left running behind a failed test (it would hold its port and a core).
        child.kill('SIGKILL');
        reject(new Error(`s3files serve not ready after ${o.readyTimeoutMs ?? 20000} ms\n${this.logTail()}`));
      }, o.readyTimeoutMs ?? 20000);
      const onData = (chunk: Buffer): void => {
        log.write(chunk);
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          this.tail.push(line);
          if (this.tail.length > 400) this.tail.shift();
          if (isServingLine(line)) {
            clearTimeout(timer);
            resolve();
          }
        }
      };
      child.stderr?.on('data', onData);
      child.stdout?.on('data', (c: Buffer) => log.write(c));
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`s3files serve exited (code ${code}, signal ${signal}) before serving\n${this.logTail()}`));
      });
    });
  }

  private async waitExit(timeoutMs: number): Promise<boolean> {
    if (!this.exited) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const done = await Promise.race([this.exited.then(() => true), timedOut]);
    clearTimeout(timer);
    return done;
  }

  /** SIGTERM, then SIGKILL after graceMs. Returns the exit code (null if it was killed). */
  async stop(graceMs = 10000): Promise<number | null> {
    const child = this.child;
    if (!child) return null;
    if (this.running) child.kill('SIGTERM');
    if (!(await this.waitExit(graceMs))) {
      child.kill('SIGKILL');
      await this.waitExit(5000);
    }
    return child.exitCode;
  }

  /** SIGKILL: the crash case. Nothing is flushed or closed by the server. */
  async kill(): Promise<void> {
    if (this.child && this.running) this.child.kill('SIGKILL');
    await this.waitExit(10000);
  }

  /** SIGKILL (if running) and start again with the same port and cache dir. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** Starts again after kill()/stop(), same options. */
  async startAgain(): Promise<void> {
    if (this.running) throw new Error('server is still running');
    await this.launch();
  }
}

function isServingLine(line: string): boolean {
  if (!line.includes('serving')) return false;
  try {
    const rec = JSON.parse(line) as { message?: string; msg?: string };
    return rec.message === 'serving' || rec.msg === 'serving' || line.includes('"serving"');
  } catch {
    return false;
  }
}
