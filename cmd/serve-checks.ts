// What `s3files serve` checks before it touches the cache directory, so that a mistake on the
// command line costs nothing (no linked cache, no half-made state), and the messages a user
// reads when something is wrong: each names the flag or path at fault and what to do.
import { constants as fsc } from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { isLoopback } from '../pkg/events/http-endpoint';
import { normaliseExportPath } from '../pkg/nfs/exports';

/** Export names, each valid and none twice ("a" and "/a/" are one export). */
export function checkExportNames(names: string[]): void {
  if (names.length === 0) throw new Error('--export needs at least one export name');
  const seen = new Set<string>();
  for (const n of names) {
    let normal: string;
    try {
      normal = normaliseExportPath(n);
    } catch {
      throw new Error(`--export ${JSON.stringify(n)} is not a valid export name (letters, digits, . _ - and / between parts)`);
    }
    if (seen.has(normal)) throw new Error(`--export names ${normal} twice`);
    seen.add(normal);
  }
}

/** --endpoint: an http(s) URL; "host:port" alone is the usual slip. */
export function checkEndpoint(value: string | undefined, flag = '--endpoint'): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new Error(`${flag} must be an http:// or https:// URL such as http://${/^[\w.-]+:\d+$/.test(value) ? value : '127.0.0.1:7480'}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Binds HOST:PORT for a moment, so that a busy port or a foreign address fails before anything else. */
export function checkListen(host: string, port: number, flag: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const why: Record<string, string> = {
        EADDRINUSE: 'the port is in use (another s3files serve?)',
        EADDRNOTAVAIL: 'no interface of this machine has that address',
        EACCES: 'binding a port below 1024 needs root',
        ENOTFOUND: 'the host name does not resolve',
      };
      reject(new Error(`${flag} ${host}:${port}: cannot listen there: ${why[err.code ?? ''] ?? err.code ?? err.message}`));
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** The cache directory exists (or is created) and takes files; otherwise says why, plainly. */
export async function checkCacheDir(dir: string): Promise<void> {
  const explain = (err: unknown): Error => {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const why: Record<string, string> = {
      EROFS: 'it is on a read-only file system',
      EACCES: 'permission denied',
      EPERM: 'permission denied',
      ENOTDIR: 'a part of the path is a file, not a directory',
      EEXIST: 'a file of that name is in the way',
      ENOSPC: 'the disk is full',
      ENOENT: 'the directory cannot be created there',
    };
    return new Error(`--cache-dir ${dir} is not usable: ${why[code] ?? code ?? String(err)}; pass a writable directory`);
  };
  try {
    await makeDirs(dir);
    await fsp.access(dir, fsc.W_OK | fsc.X_OK);
    const probe = path.join(dir, `.s3files-write-check.${process.pid}`);
    await fsp.writeFile(probe, '');
    await fsp.unlink(probe);
  } catch (err) {
    throw explain(err);
  }
}

/**
 * mkdir -p one level at a time: Node 20's recursive mkdir never returns for a path under
 * /proc (it retries ENOENT forever).
 */
async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const st = await fsp.stat(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (st) {
      if (!st.isDirectory()) throw Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR' });
      break;
    }
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) {
    await fsp.mkdir(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
}

/** The warning to log when the NFS port is reachable from other hosts with no squashing, or undefined. */
export function exposureWarning(host: string, squash: { rootSquash: boolean; allSquash: boolean }): string | undefined {
  if (isLoopback(host) || squash.rootSquash || squash.allSquash) return undefined;
  return (
    `listening on ${host}, reachable from other hosts, without --root-squash or --all-squash: ` +
    'NFS AUTH_SYS trusts the uid a client sends, so any host that can reach the port can act as root on the exports'
  );
}

/**
 * The cache directory of an export was linked to another bucket/prefix (or to the embedded
 * store): the cache's own message, turned into one that says what to do.
 */
export function explainLinkConflict(err: unknown, cacheDir: string, exportName: string): Error | undefined {
  const m = /cache directory is linked to (\S+), not (\S+)/.exec(err instanceof Error ? err.message : '');
  if (!m) return undefined;
  const [, current, wanted] = m as unknown as [string, string, string];
  const servedAs = current.startsWith('folder:') ? 'without --bucket' : `with the --bucket and --prefix of ${current}`;
  return new Error(
    `--cache-dir ${cacheDir} already holds export ${JSON.stringify(exportName)} linked to ${current}; ` +
      `a cache directory stays linked to one place, so it cannot serve ${wanted}. ` +
      `Pass another --cache-dir for ${wanted}, or serve this one as before (${servedAs}).`,
  );
}
