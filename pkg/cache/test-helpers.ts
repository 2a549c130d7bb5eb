// Helpers for the cache file system's tests: a fresh directory per file system, credentials
// for the permission matrix, and an assertion on FsError codes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isFsError, type Credentials, type FsErrorCode, type SetAttributes, type Timestamp } from '../vfs';
import winston from 'winston';
import { openCacheFileSystem, type CacheFileSystem, type CacheFileSystemOptions } from './index';

/** A logger that keeps info lines (e.g. crash recovery notes) out of the test output. */
export const quietLog = winston.createLogger({
  level: 'warn',
  format: winston.format.json(),
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
});

export const ROOT: Credentials = { uid: 0, gid: 0, gids: [] };
export const ALICE: Credentials = { uid: 1000, gid: 1000, gids: [1000] };
export const BOB: Credentials = { uid: 1001, gid: 1001, gids: [1001, 3000] };
export const CAROL: Credentials = { uid: 1002, gid: 1000, gids: [1000] };

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 's3files-cache-test-'));
}

export interface TestFs {
  fs: CacheFileSystem;
  dir: string;
  reopen(extra?: Partial<CacheFileSystemOptions>): Promise<CacheFileSystem>;
  cleanup(): Promise<void>;
}

/** A file system in a new temporary directory; `cleanup` closes it and removes the directory. */
export async function freshFs(options: Partial<CacheFileSystemOptions> = {}): Promise<TestFs> {
  const dir = tempDir();
  const t: TestFs = {
    fs: await openCacheFileSystem({ dir, logger: quietLog, ...options }),
    dir,
    async reopen(extra = {}) {
      await t.fs.close();
      t.fs = await openCacheFileSystem({ dir, logger: quietLog, ...options, ...extra });
      return t.fs;
    },
    async cleanup() {
      await t.fs.close().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

export async function expectCode(p: Promise<unknown> | (() => unknown), code: FsErrorCode): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    if (isFsError(err, code)) return;
    assert.fail(`expected ${code}, got ${String(err)}`);
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

export const file = (mode = 0o644): { kind: 'unchecked'; attributes: SetAttributes } => ({ kind: 'unchecked', attributes: { mode } });

/** Creates a file (as root unless `cred`), chowned to `owner`, and returns its inode. */
export async function makeFile(
  f: CacheFileSystem,
  dir: number,
  name: string,
  opts: { mode?: number; owner?: Credentials; cred?: Credentials; content?: Buffer } = {},
): Promise<number> {
  const c = await f.create(opts.cred ?? ROOT, dir, name, file(opts.mode ?? 0o644));
  if (opts.owner) await f.setattr(ROOT, c.ino, { uid: opts.owner.uid, gid: opts.owner.gid, mode: opts.mode ?? 0o644 });
  if (opts.content) await f.write(ROOT, c.ino, 0, opts.content, 'unstable');
  return c.ino;
}

export async function makeDir(f: CacheFileSystem, dir: number, name: string, opts: { mode?: number; owner?: Credentials } = {}): Promise<number> {
  const c = await f.mkdir(ROOT, dir, name, { mode: opts.mode ?? 0o755 });
  if (opts.owner) await f.setattr(ROOT, c.ino, { uid: opts.owner.uid, gid: opts.owner.gid, mode: opts.mode ?? 0o755 });
  return c.ino;
}

/** A clock the test moves by hand. */
export class ManualClock {
  sec = 1_700_000_000;
  nsec = 0;
  readonly now = (): Timestamp => ({ sec: this.sec, nsec: this.nsec });
  tick(ns = 1): void {
    this.nsec += ns;
    while (this.nsec >= 1e9) {
      this.nsec -= 1e9;
      this.sec++;
    }
  }
}

export async function names(f: CacheFileSystem, dir: number, cred: Credentials = ROOT): Promise<string[]> {
  const out: string[] = [];
  let cookie = 0n;
  let verifier: Buffer = Buffer.alloc(8);
  for (;;) {
    const r = await f.readdir(cred, dir, { cookie, verifier, maxEntries: 100, withAttributes: false });
    for (const e of r.entries) out.push(e.name);
    if (r.eof || r.entries.length === 0) return out;
    cookie = r.entries[r.entries.length - 1]!.cookie;
    verifier = r.verifier;
  }
}

/** Whether tests may make a private mount namespace (root and unshare(1)), for tmpfs-backed disks. */
export function canUnshare(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('unshare', ['-m', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
