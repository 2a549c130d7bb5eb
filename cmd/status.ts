// `s3files status PATH`: is this file in the bucket yet, and as which key and ETag (DESIGN.md
// decision 7). PATH is a path on an NFS mount of s3files (the export is found in /proc/mounts)
// or EXPORT:/path; the answer comes from the server's status endpoint (serve --status-listen).
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LOST_FOUND } from '../pkg/cache';
import type { LinkedExport } from '../pkg/reconcile';
import { errnoIn } from './errno';

const HELP = `usage: s3files status [--server URL] [--json] PATH

  PATH            a file on an s3files NFS mount, or EXPORT:/path/in/export
  --server URL    the server's status endpoint (default env S3FILES_STATUS_URL, else
                  http://127.0.0.1:20491; start serve with --status-listen)
  --json          print the server's answer as JSON

Exit status: 0 when the file is in the bucket as it is now, 3 while changes are pending,
4 when it is local only (a copy kept in .s3files-lost+found after a conflict), 5 when its path
is too long for an S3 key (1,024 bytes; it stays on the node until renamed).`;

/** Server side: the status of `p` in `exp` (undefined if there is no such export or file). */
export async function exportFileStatus(exp: LinkedExport | undefined, p: string): Promise<unknown> {
  if (!exp?.fs.sync) return undefined;
  let ino = exp.fs.rootIno;
  const root = { uid: 0, gid: 0, gids: [] };
  try {
    for (const name of p.split('/').filter(Boolean)) ino = (await exp.fs.lookup(root, ino, name)).ino;
  } catch {
    return undefined;
  }
  const st = exp.fs.sync.fileStatus(ino);
  if (!st) return undefined;
  const parts = p.split('/').filter(Boolean);
  // A copy kept after a conflict is local only: it has no key and nothing to upload.
  const lostFound = parts[0] === LOST_FOUND;
  return { path: `/${parts.join('/')}`, ...st, ...(lostFound ? { pending: false, lostFound } : {}), bucketKey: st.key === undefined ? undefined : exp.keys.toS3(st.key) };
}

export interface FileStatusBody {
  error?: string;
  inBucket?: boolean;
  pending?: boolean;
  lostFound?: boolean;
  unsyncable?: { reason: string; keyBytes: number };
  bucketKey?: string;
  etag?: string;
  size?: number;
  cachedBytes?: number;
}

/** The line `s3files status` prints for a file, and its exit status (see HELP). */
export function describeFileStatus(target: string, body: FileStatusBody): { line: string; exitCode: number } {
  if (body.inBucket) return { line: `${target}: in the bucket as ${body.bucketKey} (ETag ${body.etag}), ${body.size} bytes, ${body.cachedBytes} cached`, exitCode: 0 };
  if (body.unsyncable) {
    const u = body.unsyncable;
    return { line: `${target}: not in the bucket: its key would be ${u.keyBytes} bytes, over S3's limit of 1024 (${u.reason}); rename it or a directory above it to a shorter path`, exitCode: 5 };
  }
  if (body.lostFound) return { line: `${target}: local only, kept after a conflict (never uploaded; copy it elsewhere in the volume to upload it)`, exitCode: 4 };
  if (body.bucketKey === undefined) return { line: `${target}: local only (not part of the bucket)`, exitCode: 4 };
  return { line: `${target}: changes pending upload to ${body.bucketKey}${body.etag ? ` (the bucket has ETag ${body.etag})` : ' (not in the bucket yet)'}`, exitCode: 3 };
}

/** The export and path inside it for a path on an NFS mount, from /proc/mounts. */
export function locateOnMount(file: string, mounts = readFileSync('/proc/mounts', 'utf8')): { exportName: string; path: string } {
  const abs = realpathSync(path.resolve(file));
  let best: { point: string; device: string } | undefined;
  for (const line of mounts.split('\n')) {
    const [device, point, type] = line.split(' ').map((f) => f.replace(/\\040/g, ' '));
    if (!device || !point || !type?.startsWith('nfs')) continue;
    const inside = abs === point || abs.startsWith(point.endsWith('/') ? point : `${point}/`);
    if (inside && (!best || point.length > best.point.length)) best = { point, device };
  }
  if (!best) throw new Error(`${file} is not on an NFS mount`);
  const exportName = best.device.slice(best.device.indexOf(':') + 1).replace(/^\/+/, '');
  return { exportName, path: `/${path.relative(best.point, abs)}` };
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { server: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    allowPositionals: true,
  });
  if (values.help || positionals.length !== 1) {
    process.stdout.write(`${HELP}\n`);
    return values.help ? 0 : 2;
  }
  const target = positionals[0]!;
  const m = /^([^/:]+):(\/.*)$/.exec(target);
  const where = m ? { exportName: m[1]!, path: m[2]! } : locateOnMount(target);
  const server = values.server ?? process.env.S3FILES_STATUS_URL ?? 'http://127.0.0.1:20491';
  const url = new URL('/status/file', server);
  url.searchParams.set('export', where.exportName);
  url.searchParams.set('path', where.path);
  const body = (await askStatusEndpoint(url, server)) as FileStatusBody;
  const { line, exitCode } = describeFileStatus(target, body);
  process.stdout.write(values.json ? `${JSON.stringify(body, null, 2)}\n` : `${line}\n`);
  return exitCode;
}

const HINT = 'is it the address given to --status-listen? (set it with --server URL or S3FILES_STATUS_URL)';

/** GETs the status endpoint; a server that is not there, or not s3files, gets a plain message. */
async function askStatusEndpoint(url: URL, server: string): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    const why = errnoIn(err) ?? (cause instanceof Error ? cause.message : undefined) ?? (err instanceof Error && err.name === 'TimeoutError' ? 'no answer in 10 s' : err instanceof Error ? err.message : String(err));
    throw new Error(`cannot reach the s3files status endpoint at ${server} (${why}): ${HINT}`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new Error(`${server} answered HTTP ${res.status} but not like an s3files status endpoint: ${HINT}`);
  }
  const b = body as Record<string, unknown>;
  if (!res.ok) throw new Error(typeof b.error === 'string' ? b.error : `the status endpoint at ${server} answered HTTP ${res.status}`);
  return b;
}
