// Glue between the e2e suites, the UML harness (uml.ts) and `s3files serve` (s3files-server.ts):
// start our server inside a TestNetwork, and build guest scripts out of "steps" -- one workload
// each, run under its own hard timeout, with its output, exit status and duration written to
// $OUT so that one failing or hanging workload does not hide the results of the others.
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import type { CephRgw } from './ceph-rgw';
import type { NsBridge } from './ns-bridge';
import { REPO_ROOT, S3filesServer } from './s3files-server';
import { nfsMountCommand, shellQuote, type GuestResult, type TestNetwork } from './uml';

export const WORKLOADS = join(REPO_ROOT, 'test', 'e2e', 'workloads');
/** The guest sees the host's / (hostfs); Debian's python, not a pyenv shim that needs $HOME setup. */
export const GUEST_PYTHON = '/usr/bin/python3';
export const E2E_EXPORT = 'data';
export const E2E_PORT = 20490;

/** Starts `bin/s3files serve` inside net on hostIp:E2E_PORT with a fresh cache dir (linked to nothing, or `link`). */
/** `serve` linked to a bucket of the gateway, reached through `bridge` (ns-bridge.ts). */
export interface NsLink {
  gw: CephRgw;
  bucket: string;
  prefix: string;
  bridge: NsBridge;
  /** More serve flags (sync delay, TTL, ...). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
}

export async function startServerInNs(net: TestNetwork, opts: { exports?: string[]; cacheDir?: string; link?: NsLink } = {}): Promise<S3filesServer> {
  const cacheDir = opts.cacheDir ?? join(net.makeTempDir('cache'), 'cache');
  const link = opts.link;
  return S3filesServer.start({
    cacheDir,
    host: net.hostIp,
    port: E2E_PORT,
    exports: opts.exports ?? [E2E_EXPORT],
    spawner: (cmd, args, o) => net.spawnInNs(cmd, args, o),
    readyTimeoutMs: 30_000,
    extraArgs: link && ['--bucket', link.bucket, '--prefix', link.prefix, '--endpoint', `http://127.0.0.1:${link.bridge.port}`, '--path-style', ...(link.args ?? [])],
    env: link && { AWS_ACCESS_KEY_ID: link.gw.accessKeyId, AWS_SECRET_ACCESS_KEY: link.gw.secretAccessKey, AWS_REGION: link.gw.region, ...link.env },
  });
}

/** The guest's mount command for our export (DESIGN.md options, via the harness). */
export function mountCommand(net: TestNetwork, mountPoint = '$OUT/mnt', exportName = E2E_EXPORT): string {
  return nfsMountCommand({ host: net.hostIp, port: E2E_PORT, exportPath: `/${exportName}`, mountPoint });
}

/**
 * Guest lines that mount our export at mountPoint; on failure they record why in
 * $OUT/mount.rc and stop the script (nothing else can run without the mount).
 */
export function mountLines(net: TestNetwork, mountPoint = '$OUT/mnt', exportName = E2E_EXPORT): string {
  const cmd = mountCommand(net, mountPoint, exportName);
  return [
    `mkdir -p "${mountPoint}"`,
    `if ${cmd} > "$OUT/mount.log" 2>&1; then echo 0 > "$OUT/mount.rc"; else echo $? > "$OUT/mount.rc"; exit 1; fi`,
    `grep " ${mountPoint} nfs " /proc/mounts > "$OUT/mounts.txt" || true`,
  ].join('\n');
}

/**
 * S3FILES_E2E_ONLY=name,name runs only those steps (to iterate on one workload); the others'
 * tests are then skipped, not failed.
 */
export function stepSelected(name: string): boolean {
  const only = process.env.S3FILES_E2E_ONLY;
  return !only || name === 'umount' || only.split(',').map((s) => s.trim()).includes(name);
}

/** Skips the current test if its step was deselected with S3FILES_E2E_ONLY. */
export function skipUnlessSelected(ctx: Mocha.Context, name: string): void {
  if (!stepSelected(name)) ctx.skip();
}

/**
 * One workload: `command` (a shell command line) runs under `timeout -s KILL` (a hard-mount hang
 * is only killable with SIGKILL); output → $OUT/NAME.log, exit status → $OUT/NAME.rc
 * (137 = killed at the timeout), seconds → $OUT/NAME.secs. Never stops the script.
 */
export function step(name: string, command: string, timeoutSec: number): string {
  if (!stepSelected(name)) return `echo "[step] ${name} deselected (S3FILES_E2E_ONLY)"`;
  return [
    `t0=$(date +%s.%N)`,
    `echo "[step] ${name} start"`,
    `timeout -s KILL ${timeoutSec} sh -c ${shellQuote(command)} > "$OUT/${name}.log" 2>&1; rc=$?`,
    `echo $rc > "$OUT/${name}.rc"`,
    `echo "$(date +%s.%N) $t0" | awk '{printf "%.1f\\n", $1 - $2}' > "$OUT/${name}.secs"`,
    `echo "[step] ${name} exit $rc after $(cat "$OUT/${name}.secs") s"`,
  ].join('\n');
}

/** A guest script: set +e (steps record their own status), the mount, the steps, umount. */
export function guestScript(net: TestNetwork, steps: string[], opts: { mountPoint?: string } = {}): string {
  const mnt = opts.mountPoint ?? '$OUT/mnt';
  return [
    'set +e',
    `export MNT="${mnt}" PY=${GUEST_PYTHON} W=${shellQuote(WORKLOADS)}`,
    mountLines(net, mnt),
    ...steps,
    step('umount', `umount "${mnt}"`, 60),
    'exit 0',
    '',
  ].join('\n');
}

export interface StepResult {
  name: string;
  /** Exit status; undefined if the step never ran (the guest died or the mount failed first). */
  rc?: number;
  secs?: number;
  log: string;
}

export function readStep(outDir: string, name: string): StepResult {
  const read = (f: string): string | undefined => (existsSync(join(outDir, f)) ? readFileSync(join(outDir, f), 'utf8') : undefined);
  const rc = read(`${name}.rc`);
  const secs = read(`${name}.secs`);
  return {
    name,
    rc: rc === undefined ? undefined : Number(rc.trim()),
    secs: secs === undefined ? undefined : Number(secs.trim()),
    log: read(`${name}.log`) ?? '',
  };
}

/**
 * Throws unless the step exited 0: the message leads with the step's FAIL lines (the
 * workloads print one per failed check), then its log tail, the guest console tail and the
 * server's log tail.
 */
export function assertStep(guest: GuestResult | undefined, name: string, server?: S3filesServer): StepResult {
  if (!guest) throw new Error(`step ${name}: the guest did not run`);
  const r = readStep(guest.outDir, name);
  if (r.rc === 0) return r;
  const fails = r.log.split('\n').filter((l) => /^FAIL\b/.test(l) || /^\s{2}/.test(l)).slice(0, 60);
  const why =
    r.rc === undefined ? 'never ran (guest crashed or timed out, or the mount failed)'
      : r.rc === 137 ? `killed at its timeout after ${r.secs} s (hung?)`
        : `exit ${r.rc} after ${r.secs} s`;
  throw new Error([
    `step ${name}: ${why}`,
    fails.length ? `failures:\n${fails.join('\n')}` : '',
    `log tail:\n${tail(r.log, 30)}`,
    `guest console tail:\n${tail(guest.log, 15)}`,
    server ? `server log tail:\n${server.logTail(15)}` : '',
  ].filter(Boolean).join('\n'));
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** One line per step for the suite summary: name, status, seconds. */
export function stepSummary(outDir: string, names: string[]): string {
  return names
    .map((n) => readStep(outDir, n))
    .map((r) => `${r.name}: ${r.rc === undefined ? 'did not run' : r.rc === 0 ? 'ok' : `exit ${r.rc}`} (${r.secs ?? '-'} s)`)
    .join(', ');
}
