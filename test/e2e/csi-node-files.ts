// File-level checks of the CSI node e2e driver (csi-node-driver.ts), run inside the UML guest
// on the two published target paths: one read-write, one read-only bind of the same staged
// NFS mount. Each function throws with a precise message on the first thing that is wrong.
import { spawn } from 'node:child_process';
import { appendFile, chmod, mkdir, open, readdir, readFile, rename, stat, truncate, unlink, utimes, writeFile } from 'node:fs/promises';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

/** Runs a program with output appended to logFile; SIGKILL at the timeout (a hard-mount hang). */
export function runLogged(cmd: string, args: string[], logFile: string, timeoutMs: number): Promise<RunResult> {
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut });
    });
  });
}

function must(cond: boolean, message: string): void {
  if (!cond) throw new Error(message);
}

/**
 * Writes through `rw` and reads through `ro` straight after, with no sleep or sync in between:
 * create, overwrite, append seen by an fd opened before the append, mkdir, rename, unlink.
 * Both are binds of one NFS superblock, so the reader must see each change at once.
 */
export async function checkCoherence(rw: string, ro: string): Promise<{ ops: number }> {
  const dir = 'coherence';
  await mkdir(path.join(rw, dir));
  must((await stat(path.join(ro, dir))).isDirectory(), 'mkdir through the rw target not visible through the ro target');
  const a = path.join(rw, dir, 'a.txt');
  const b = path.join(ro, dir, 'a.txt');
  await writeFile(a, 'first version\n');
  must((await readFile(b, 'utf8')) === 'first version\n', 'new file content not visible at once through the ro target');
  const reader = await open(b, 'r');
  try {
    await appendFile(a, 'appended line\n');
    const buf = Buffer.alloc(64);
    const { bytesRead } = await reader.read(buf, 0, 64, 0);
    must(buf.subarray(0, bytesRead).toString() === 'first version\nappended line\n', `an fd opened through the ro target did not see the append: ${JSON.stringify(buf.subarray(0, bytesRead).toString())}`);
  } finally {
    await reader.close();
  }
  const [sa, sb] = [await stat(a), await stat(b)];
  must(sa.size === sb.size && sa.mtimeMs === sb.mtimeMs && sa.ino === sb.ino, `stat differs between targets: ${sa.size}/${sa.mtimeMs}/${sa.ino} vs ${sb.size}/${sb.mtimeMs}/${sb.ino}`);
  await rename(a, path.join(rw, dir, 'b.txt'));
  const names = await readdir(path.join(ro, dir));
  must(names.length === 1 && names[0] === 'b.txt', `rename not visible through the ro target: ${names.join(',')}`);
  await unlink(path.join(rw, dir, 'b.txt'));
  must((await readdir(path.join(ro, dir))).length === 0, 'unlink not visible through the ro target');
  await writeFile(path.join(rw, dir, 'kept.txt'), 'kept for the read-only checks\n');
  return { ops: 8 };
}

/** Every modifying call through the read-only target must fail with EROFS; reads must work. */
export async function checkReadOnly(rw: string, ro: string): Promise<{ refused: string[] }> {
  const kept = path.join(ro, 'coherence', 'kept.txt');
  must((await readFile(kept, 'utf8')) === 'kept for the read-only checks\n', 'reading through the ro target failed');
  const attempts: Array<[string, () => Promise<unknown>]> = [
    ['create', () => writeFile(path.join(ro, 'coherence', 'new.txt'), 'x')],
    ['open for append', () => appendFile(kept, 'x')],
    ['truncate', () => truncate(kept, 0)],
    ['mkdir', () => mkdir(path.join(ro, 'coherence', 'd'))],
    ['unlink', () => unlink(kept)],
    ['rename', () => rename(kept, path.join(ro, 'coherence', 'moved.txt'))],
    ['chmod', () => chmod(kept, 0o600)],
    ['utimes', () => utimes(kept, new Date(), new Date())],
  ];
  const refused: string[] = [];
  for (const [what, fn] of attempts) {
    try {
      await fn();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      must(code === 'EROFS', `${what} through the ro target failed with ${code}, not EROFS`);
      refused.push(what);
      continue;
    }
    throw new Error(`${what} through the ro target succeeded`);
  }
  // The read-write target is unaffected by the read-only bind.
  await appendFile(path.join(rw, 'coherence', 'kept.txt'), 'still writable\n');
  return { refused };
}

/**
 * ffmpeg.sh writes three outputs through the rw target (MP3 with the Xing header rewritten,
 * MP4 remux, MP4 +faststart); each run's exit status is in its output. The outputs must show
 * the same sizes through the ro target at once.
 */
export async function runFfmpeg(workloads: string, input: string, rw: string, ro: string, out: string, outputs: readonly string[]): Promise<Record<string, number>> {
  const log = path.join(out, 'ffmpeg.log');
  const r = await runLogged('sh', [path.join(workloads, 'ffmpeg.sh'), 'run', input, path.join(rw, 'ff'), path.join(out, 'ff-logs')], log, 300_000);
  must(r.code === 0, `ffmpeg.sh exited ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''}`);
  const text = readFileSync(log, 'utf8');
  for (const name of outputs) must(text.includes(`${name} exit 0`), `ffmpeg for ${name} failed: ${text.trim().split('\n').slice(-3).join(' | ')}`);
  const sizes: Record<string, number> = {};
  for (const name of outputs) {
    const [a, b] = [await stat(path.join(rw, 'ff', name)), await stat(path.join(ro, 'ff', name))];
    must(a.size > 0 && a.size === b.size, `${name}: ${a.size} bytes through rw, ${b.size} through ro`);
    sizes[name] = a.size;
  }
  return sizes;
}

export interface WriterProgress {
  acked: number;
  bulk_chunks: number;
  errors: unknown[];
  done: boolean;
  ok: boolean;
  stalls: Array<{ after_record: number; secs: number }>;
}

export function readProgress(file: string): WriterProgress | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as WriterProgress;
  } catch {
    return undefined; // not written yet
  }
}

/** Waits until the writer has acknowledged `target` fsync'd records; throws on errors or a stall. */
export async function waitAcked(progressFile: string, target: number, timeoutMs: number, exited: () => boolean): Promise<WriterProgress> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = readProgress(progressFile);
    if (p && p.errors.length > 0) throw new Error(`writer reported errors: ${JSON.stringify(p.errors)}`);
    if (p && p.acked >= target) return p;
    if (exited()) throw new Error(`writer exited at ${p?.acked ?? 0} records, waiting for ${target}`);
    if (Date.now() > deadline) throw new Error(`writer stuck at ${p?.acked ?? 0} records, waiting for ${target} (${timeoutMs} ms)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
