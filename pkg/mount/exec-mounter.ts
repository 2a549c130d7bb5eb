// The real Mounter: mount(8) and umount(8) through an injected command runner (so that tests
// can check the exact command lines), and /proc/self/mountinfo for the mount table. It never
// stats a mount point: on a dead NFS server a stat of a hard mount hangs, while mountinfo
// always answers.
import { spawn } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { findMount, MountError, NotMountedError, type Mounter } from './mounter';
import { readMountInfo, type MountInfo } from './mountinfo';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface CommandRunner {
  run(command: string, args: string[], options?: { timeoutMs?: number }): Promise<CommandResult>;
}

/** Runs a program without a shell; kills it (SIGKILL) after the timeout. */
export const execRunner: CommandRunner = {
  run(command, args, options = {}) {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      const timer = options.timeoutMs
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, options.timeoutMs)
        : undefined;
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', (err) => {
        if (timer) clearTimeout(timer);
        reject(err);
      });
      child.on('close', (code) => {
        if (timer) clearTimeout(timer);
        resolve({ code, stdout, stderr, timedOut });
      });
    });
  },
};

export interface ExecMounterOptions {
  runner?: CommandRunner;
  mountInfoPath?: string;
  /** How long one mount/umount may take; NFS mounts of a dead server otherwise block. */
  timeoutMs?: number;
}

export class ExecMounter implements Mounter {
  private readonly runner: CommandRunner;
  private readonly mountInfoPath: string;
  private readonly timeoutMs: number;

  constructor(options: ExecMounterOptions = {}) {
    this.runner = options.runner ?? execRunner;
    this.mountInfoPath = options.mountInfoPath ?? '/proc/self/mountinfo';
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  async mount(source: string, target: string, fstype: string, options: string[]): Promise<void> {
    if (!path.isAbsolute(target)) throw new MountError(`mount target must be absolute: ${target}`);
    const bind = options.includes('bind');
    if (!bind) {
      const args = ['-t', fstype, ...(options.length ? ['-o', options.join(',')] : []), source, target];
      await this.exec('mount', args);
      return;
    }
    // A bind mount ignores "ro" on the first call; the kernel applies it only on a remount.
    const rest = options.filter((o) => o !== 'bind' && o !== 'ro' && o !== 'rw');
    await this.exec('mount', ['--bind', ...(rest.length ? ['-o', rest.join(',')] : []), source, target]);
    if (options.includes('ro')) {
      try {
        await this.exec('mount', ['-o', ['remount', 'bind', 'ro', ...rest].join(','), target]);
      } catch (err) {
        await this.exec('umount', [target]).catch(() => undefined);
        throw err;
      }
    }
  }

  async unmount(target: string): Promise<void> {
    if (!(await this.isMountPoint(target))) throw new NotMountedError(target);
    const result = await this.runner.run('umount', [target], { timeoutMs: this.timeoutMs });
    if (result.code === 0) return;
    if (/not mounted/i.test(result.stderr)) throw new NotMountedError(target);
    if (result.timedOut) {
      // The server is gone and the hard mount blocks: detach it; the kernel finishes later.
      await this.exec('umount', ['-f', '-l', target]);
      return;
    }
    throw new MountError(`umount ${target} failed (exit ${result.code}): ${result.stderr.trim()}`);
  }

  async isMountPoint(target: string): Promise<boolean> {
    const resolved = await resolveTarget(target);
    const mounts = await this.list();
    return findMount(mounts, resolved) !== undefined || findMount(mounts, target) !== undefined;
  }

  list(): Promise<MountInfo[]> {
    return readMountInfo(this.mountInfoPath);
  }

  private async exec(command: string, args: string[]): Promise<void> {
    const result = await this.runner.run(command, args, { timeoutMs: this.timeoutMs });
    if (result.code !== 0) {
      const why = result.timedOut ? `timed out after ${this.timeoutMs} ms` : `exit ${result.code}`;
      throw new MountError(`${command} ${args.join(' ')} failed (${why}): ${result.stderr.trim()}`);
    }
  }
}

/**
 * The path as the kernel reports it: symlinks in the parent resolved. Only the parent is
 * resolved, because resolving the mount point itself stats it, which hangs on a dead NFS mount.
 */
export async function resolveTarget(target: string): Promise<string> {
  try {
    return path.join(await realpath(path.dirname(target)), path.basename(target));
  } catch {
    return target;
  }
}
