// Finds the UML kernel and its NFS client modules. The module directory and load order are
// discovered (modules.dep) rather than hard-coded, so a Debian kernel update does not break tests.
import { execFileSync } from 'child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'fs';
import { delimiter, join } from 'path';

const MODULES_ROOT = '/usr/lib/uml/modules';
/** The module that pulls in the whole NFSv3 client (sunrpc, lockd, nfs, nfs_acl, ...). */
const NFS_CLIENT_MODULE = 'kernel/fs/nfs/nfsv3.ko';

export interface GuestModules {
  version: string;
  dir: string;
  /** Absolute .ko paths in load order (dependencies first). */
  files: string[];
}

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin'])) {
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export function umlBinary(): string {
  return which('linux.uml') ?? 'linux.uml';
}

let cachedVersion: string | undefined;

/** The module version directory: the only one installed, or the one matching `linux.uml --version`. */
function moduleVersion(): string {
  if (cachedVersion) return cachedVersion;
  const versions = existsSync(MODULES_ROOT) ? readdirSync(MODULES_ROOT) : [];
  if (versions.length === 0) throw new Error(`no UML modules under ${MODULES_ROOT} (apt-get install user-mode-linux)`);
  if (versions.length === 1) {
    cachedVersion = versions[0] as string;
    return cachedVersion;
  }
  const running = execFileSync(umlBinary(), ['--version'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 })
    .toString()
    .trim();
  if (!versions.includes(running)) throw new Error(`linux.uml is ${running}; modules exist for ${versions.join(', ')}`);
  cachedVersion = running;
  return running;
}

/** Parses modules.dep into module → direct dependencies (paths relative to the version dir). */
function parseModulesDep(dir: string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const line of readFileSync(join(dir, 'modules.dep'), 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    deps.set(line.slice(0, colon), line.slice(colon + 1).trim().split(/\s+/).filter(Boolean));
  }
  return deps;
}

let cachedModules: GuestModules | undefined;

/** The NFS client modules for the installed UML kernel, dependencies first. */
export function guestModules(): GuestModules {
  if (cachedModules) return cachedModules;
  const version = moduleVersion();
  const dir = join(MODULES_ROOT, version);
  const deps = parseModulesDep(dir);
  if (!deps.has(NFS_CLIENT_MODULE)) throw new Error(`${NFS_CLIENT_MODULE} not in ${dir}/modules.dep`);
  const order: string[] = [];
  const visit = (mod: string, path: string[]): void => {
    if (order.includes(mod)) return;
    if (path.includes(mod)) throw new Error(`module dependency cycle: ${[...path, mod].join(' -> ')}`);
    for (const d of deps.get(mod) ?? []) visit(d, [...path, mod]);
    order.push(mod);
  };
  visit(NFS_CLIENT_MODULE, []);
  cachedModules = { version, dir, files: order.map((m) => join(dir, m)) };
  return cachedModules;
}

/** What is missing to boot a guest and mount NFS in it; empty when everything is there. */
export function umlPrerequisites(): string[] {
  const missing: string[] = [];
  if (!which('linux.uml')) missing.push('linux.uml (apt-get install user-mode-linux)');
  try {
    for (const f of guestModules().files) if (!existsSync(f)) missing.push(f);
  } catch (err) {
    missing.push((err as Error).message);
  }
  const tools: Array<[string, string]> = [
    ['busybox', 'busybox-static'], ['ip', 'iproute2'], ['mount.nfs', 'nfs-common'],
    ['rpc.statd', 'nfs-common'], ['rpcbind', 'rpcbind'],
  ];
  for (const [cmd, pkg] of tools) if (!which(cmd)) missing.push(`${cmd} (apt-get install ${pkg})`);
  if (!existsSync('/dev/net/tun')) missing.push('/dev/net/tun');
  if (typeof process.getuid === 'function' && process.getuid() !== 0) missing.push('root (network namespaces)');
  return missing;
}
