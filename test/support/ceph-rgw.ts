// A throwaway Ceph RADOS Gateway for integration tests, started exactly as ../shared/TESTING.md
// records: one monitor, one memstore OSD, radosgw on 127.0.0.1, auth none, everything under a
// unique temporary directory, daemons killed by their recorded PIDs. Start-up takes a few
// seconds; `useSharedRgw()` starts one instance for the whole mocha run (the machine has two
// cores shared with others, so never more than one).
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { S3StoreConfig } from '../../pkg/s3/s3-config';
import { S3Store } from '../../pkg/s3/s3-store';

const execFileP = promisify(execFile);

/** Keys of the test user; they only ever exist inside this throwaway gateway. */
export const RGW_TEST_ACCESS_KEY = 'S3FILESTESTACCESSKEY';
export const RGW_TEST_SECRET_KEY = 's3files-test-secret-key-0123456789abcdef';
export const RGW_REGION = 'us-east-1';

const BINARIES = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph', 'monmaptool', 'ceph-authtool'];
export const CEPH_PACKAGES = 'ceph-mon ceph-osd radosgw ceph-common';

export class CephMissingError extends Error {
  constructor(missing: string[]) {
    super(
      `Ceph binaries not found: ${missing.join(', ')}. Install them with ` +
        `'apt-get install -y --no-install-recommends ${CEPH_PACKAGES}', ` +
        `or set S3FILES_SKIP_S3=1 to skip the tests that need a real S3 server.`,
    );
    this.name = 'CephMissingError';
  }
}

export interface CephRgw {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  dir: string;
  /** Milliseconds from the first command to the gateway answering S3. */
  startupMs: number;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** True when the suite should skip the S3-server tests (explicit opt-out only). */
export function skipS3(): boolean {
  return process.env.S3FILES_SKIP_S3 === '1';
}

function findMissingBinaries(): string[] {
  const dirs = (process.env.PATH ?? '/usr/bin:/bin').split(':'); // what spawn will search
  return BINARIES.filter((b) => !dirs.some((d) => existsSync(join(d, b))));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A block of free ports for the OSD's messengers, so two gateways on one machine never clash. */
async function freePortRange(width: number): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    let ok = true;
    for (let p = base; p < base + width && ok; p++) ok = await portIsFree(p);
    if (ok) return base;
  }
  throw new Error('no free port range for the Ceph OSD');
}

/** RAM the OSD keeps objects in: 2 GiB, or S3FILES_RGW_MEMSTORE_GIB (benchmarks with 1 GiB objects). */
function memstoreBytes(): number {
  const gib = Number(process.env.S3FILES_RGW_MEMSTORE_GIB ?? 2);
  return Math.round((Number.isFinite(gib) && gib > 0 ? gib : 2) * 2 ** 30);
}

/**
 * RGW's HTTP front end. beast is the default; radosgw 16 aborts under beast when a bucket with
 * HTTP notifications gets a multi-object delete (the notification's wait inside DeleteObjects'
 * coroutine), which civetweb does not (tests of bucket events use it).
 */
export type RgwFrontend = 'beast' | 'civetweb';

function cephConf(dir: string, fsid: string, ports: { v2: number; v1: number; rgw: number; osdBase: number }, frontend: RgwFrontend = 'beast'): string {
  return `[global]
fsid = ${fsid}
mon host = [v2:127.0.0.1:${ports.v2},v1:127.0.0.1:${ports.v1}]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
keyring = ${dir}/keyring
run dir = ${dir}/run
pid file = ${dir}/run/$name.pid
admin socket = ${dir}/run/$name.asok
log file = ${dir}/log/$name.log
ms bind port min = ${ports.osdBase}
ms bind port max = ${ports.osdBase + 19}
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false

[mon.a]
mon data = ${dir}/mon.a
paxos propose interval = 0.01
paxos min wait = 0.001

[osd.0]
osd data = ${dir}/osd.0
osd objectstore = memstore
memstore device bytes = ${memstoreBytes()}

[client.rgw.a]
ms mon client mode = crc secure
rgw data = ${dir}/rgw.a
rgw frontends = ${frontend === 'beast' ? `beast endpoint=127.0.0.1:${ports.rgw}` : `civetweb port=127.0.0.1:${ports.rgw}`}
# Its worker thread aborted radosgw once during start-up on a loaded machine; tests never reshard.
rgw dynamic resharding = false
`;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` until it returns true, or throws with `what` and the last error after `timeoutMs`. */
class DaemonExitedError extends Error {}

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      if (err instanceof DaemonExitedError) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? `: ${last.message.split('\n')[0]}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(100);
  }
}

class Rgw implements CephRgw {
  readonly accessKeyId = RGW_TEST_ACCESS_KEY;
  readonly secretAccessKey = RGW_TEST_SECRET_KEY;
  readonly region = RGW_REGION;
  endpoint = '';
  port = 0;
  startupMs = 0;
  private readonly procs: ChildProcess[] = [];
  private conf = '';

  constructor(readonly dir: string, private readonly frontend: RgwFrontend = 'beast') {}

  private async run(cmd: string, args: string[], timeoutMs = 30000): Promise<string> {
    const { stdout } = await execFileP(cmd, ['-c', this.conf, ...args], { timeout: timeoutMs });
    return stdout;
  }

  private daemon(cmd: string, args: string[]): void {
    const out = openSync(join(this.dir, 'log', `${cmd}.out`), 'a');
    const child = spawn(cmd, ['-c', this.conf, '-f', ...args], { stdio: ['ignore', out, out] });
    closeSync(out);
    child.on('error', () => undefined);
    this.procs.push(child);
    livePids.add(child.pid ?? 0);
  }

  /** Fails fast when a daemon we started has died, instead of waiting out a timeout. */
  private assertDaemonsAlive(): void {
    for (const child of this.procs) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new DaemonExitedError(`${child.spawnargs[0]} exited (${child.exitCode ?? child.signalCode})`);
      }
    }
  }

  async start(): Promise<void> {
    const t0 = Date.now();
    const fsid = randomUUID();
    const ports = { v2: await freePort(), v1: await freePort(), rgw: await freePort(), osdBase: await freePortRange(20) };
    this.conf = join(this.dir, 'ceph.conf');
    for (const d of ['run', 'log', 'mon.a', 'osd.0', 'rgw.a']) await mkdir(join(this.dir, d), { recursive: true });
    await writeFile(this.conf, cephConf(this.dir, fsid, ports, this.frontend));
    const monmap = join(this.dir, 'monmap');
    const monKeyring = join(this.dir, 'mon.keyring');
    await execFileP('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${ports.v2},v1:127.0.0.1:${ports.v1}]`, monmap]);
    await execFileP('ceph-authtool', ['--create-keyring', monKeyring, '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
    await this.run('ceph-mon', ['--mkfs', '-i', 'a', '--monmap', monmap, '--keyring', monKeyring]);
    this.daemon('ceph-mon', ['-i', 'a']);
    await waitFor('ceph-mon', 30000, async () => {
      this.assertDaemonsAlive();
      return (await this.run('ceph', ['mon', 'stat'], 10000)).includes('quorum');
    });
    const osdUuid = randomUUID();
    const osdId = (await this.run('ceph', ['osd', 'new', osdUuid])).trim();
    if (osdId !== '0') throw new Error(`unexpected osd id ${osdId}`);
    await this.run('ceph-osd', ['-i', '0', '--mkfs', '--osd-uuid', osdUuid]);
    this.daemon('ceph-osd', ['-i', '0']);
    await waitFor('osd.0 up', 60000, async () => {
      this.assertDaemonsAlive();
      return /osd\.0 up/.test(await this.run('ceph', ['osd', 'dump'], 10000));
    });
    this.daemon('radosgw', ['-n', 'client.rgw.a']);
    this.port = ports.rgw;
    this.endpoint = `http://127.0.0.1:${ports.rgw}`;
    await waitFor('radosgw HTTP', 60000, async () => {
      this.assertDaemonsAlive();
      return (await fetch(this.endpoint)).status > 0;
    });
    await this.run('radosgw-admin', [
      'user', 'create', '--uid=test', '--display-name=test',
      `--access-key=${this.accessKeyId}`, `--secret-key=${this.secretAccessKey}`,
    ]);
    this.startupMs = Date.now() - t0;
  }

  /** Creates a bucket with a signed request through the SDK (imported lazily: test-only). */
  async createBucket(name: string): Promise<void> {
    const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
    const client = new S3Client({
      endpoint: this.endpoint,
      region: this.region,
      forcePathStyle: true,
      credentials: { accessKeyId: this.accessKeyId, secretAccessKey: this.secretAccessKey },
    });
    try {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    } finally {
      client.destroy();
    }
  }

  async stop(): Promise<void> {
    // radosgw first, then the OSD, then the monitor: each by the PID we recorded.
    for (const child of [...this.procs].reverse()) await stopChild(child);
    this.procs.length = 0;
    await rm(this.dir, { recursive: true, force: true });
  }

  /** The last lines of each daemon's output; the full output is kept in `keepAs` for a post-mortem. */
  async logTail(keepAs: string): Promise<string> {
    const parts: string[] = [];
    let all = '';
    for (const f of ['ceph-mon.out', 'ceph-osd.out', 'radosgw.out']) {
      const text = await readFile(join(this.dir, 'log', f), 'utf8').catch(() => '');
      all += `==> ${f} <==\n${text}\n`;
      if (text) parts.push(`${f}: ${text.split('\n').slice(-5).join(' | ')}`);
    }
    await writeFile(keepAs, all).catch(() => undefined);
    return `${parts.join('\n')}\n(full daemon output in ${keepAs})`;
  }
}

const livePids = new Set<number>();
process.on('exit', () => {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

async function stopChild(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  livePids.delete(pid);
}

/**
 * Starts a gateway; on any failure the daemons already started are killed, the directory
 * removed (daemon output kept next to it) and one fresh attempt made: radosgw 16 has been seen
 * to abort once during start-up on a loaded machine.
 */
export async function startCephRgw(attempts = 2, frontend: RgwFrontend = 'beast'): Promise<CephRgw> {
  const missing = findMissingBinaries();
  if (missing.length) throw new CephMissingError(missing);
  for (let attempt = 1; ; attempt++) {
    const rgw = new Rgw(await mkdtemp(join(tmpdir(), 's3files-rgw-')), frontend);
    try {
      await rgw.start();
      return rgw;
    } catch (err) {
      const logs = await rgw.logTail(`${rgw.dir}.failed.log`);
      await rgw.stop().catch(() => undefined);
      if (attempt >= attempts) throw new Error(`Ceph RGW failed to start: ${(err as Error).message}\n${logs}`);
      process.stderr.write(`      (Ceph RGW start failed, retrying: ${(err as Error).message})\n`);
    }
  }
}

let shared: Promise<CephRgw> | undefined;
let hookRegistered = false;

/**
 * For spec files: call at the top level. Returns a getter for one gateway shared by every spec
 * file of the run, started on first use and stopped in a root-level `after` hook.
 */
export function useSharedRgw(): () => Promise<CephRgw> {
  if (!hookRegistered) {
    hookRegistered = true;
    after(async function () {
      this.timeout(30000);
      const p = shared;
      shared = undefined;
      if (p) await (await p.catch(() => undefined))?.stop();
    });
  }
  return () =>
    (shared ??= startCephRgw().then((gw) => {
      process.stderr.write(`      (Ceph RGW up at ${gw.endpoint} in ${gw.startupMs} ms)\n`);
      return gw;
    }));
}

/**
 * An S3Store on `bucket` of the gateway, path-style with its credentials; `extra` may point it
 * elsewhere (a fault proxy, a shaped link in front of the gateway) or tune it.
 */
export function rgwStore(gw: CephRgw, bucket: string, extra: Partial<S3StoreConfig> = {}): S3Store {
  return new S3Store({
    bucket, endpoint: gw.endpoint, region: gw.region, forcePathStyle: true,
    credentials: { accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey },
    ...extra,
  });
}
