// Process helpers for the end-to-end harness: running commands, waiting for exits and killing
// whole process trees. UML calls setsid() and forks helper processes, so killing only the PID
// we spawned leaves strays; everything here therefore works on process groups and trees.
import { ChildProcess, execFile, execFileSync } from 'child_process';
import { readdirSync, readFileSync } from 'fs';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never throws for a non-zero exit (the caller decides). */
export function runCommand(cmd: string, args: string[], timeoutMs = 30_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      const extra = err && typeof err.code !== 'number' ? `${err.message}\n` : '';
      resolve({ code, stdout: String(stdout), stderr: extra + String(stderr) });
    });
  });
}

/** Runs a command and throws with its stderr when it fails. */
export async function mustRun(cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
  const r = await runCommand(cmd, args, timeoutMs);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  }
  return r.stdout;
}

/** Synchronous variant for process 'exit' handlers, where nothing asynchronous runs. */
export function runCommandSync(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).toString();
  } catch {
    return '';
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A snapshot of pid → parent pid for every process, read from /proc. */
function parentMap(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name is in parentheses and may contain spaces; fields resume after ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // The process exited while we were reading; ignore it.
    }
  }
  return parents;
}

/** All live descendants of pid (children, grandchildren, ...), not including pid itself. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const [child, parent] of parentMap()) {
    const list = children.get(parent) ?? [];
    list.push(child);
    children.set(parent, list);
  }
  const out: number[] = [];
  const queue = [...(children.get(pid) ?? [])];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    out.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone (ESRCH) is the common and desired case.
  }
}

/**
 * Sends sig to pid, to its process group (pid is a group leader for everything we spawn with
 * detached: true, and UML makes itself one with setsid) and to every descendant found in /proc.
 */
export function killTree(pid: number, sig: NodeJS.Signals = 'SIGKILL'): void {
  const tree = descendants(pid);
  signal(-pid, sig);
  signal(pid, sig);
  for (const p of tree) signal(p, sig);
}

/** Resolves true once the child has exited, false if it is still running after timeoutMs. */
export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/** Polls until no process of the given list is alive, or the time is up. */
export async function waitForPidsGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!pids.some(isAlive)) return true;
    await sleep(50);
  }
  return !pids.some(isAlive);
}

/**
 * Stops a process we started: SIGTERM to its tree, then SIGKILL after graceMs. Resolves once
 * the direct child has exited (or could not be made to).
 */
export async function stopProcess(child: ChildProcess, graceMs = 5_000): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const tree = [pid, ...descendants(pid)];
  if (child.exitCode === null && child.signalCode === null) {
    killTree(pid, 'SIGTERM');
    if (!(await waitForExit(child, graceMs))) killTree(pid, 'SIGKILL');
    await waitForExit(child, 5_000);
  }
  // Helpers that outlived their parent are still in the tree snapshot; make sure they are gone.
  for (const p of tree) signal(p, 'SIGKILL');
  signal(-pid, 'SIGKILL');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Keeps the last maxBytes of a stream's output, for error messages. */
export class OutputTail {
  private text = '';
  constructor(private readonly maxBytes = 64 * 1024) {}

  append(chunk: Buffer | string): void {
    this.text += chunk.toString();
    if (this.text.length > this.maxBytes) this.text = this.text.slice(-this.maxBytes);
  }

  toString(): string {
    return this.text;
  }
}

/**
 * Polls `cond` every `everyMs` until it holds and returns the milliseconds that took; throws
 * after `timeoutMs`, naming `what` (and the last error, if `cond` threw: that counts as "not
 * yet", as when a file being checked is not there yet).
 */
export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<number> {
  const t0 = Date.now();
  let lastError: unknown;
  for (;;) {
    try {
      if (await cond()) return Date.now() - t0;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? '' : ` (last error: ${String(lastError)})`}`);
    }
    await sleep(everyMs);
  }
}
