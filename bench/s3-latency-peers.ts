// The file systems the S3 latency benchmark compares, each pointed at its own shaped link:
//  - s3files: `s3files serve` inside the benchmark's network namespace (its S3 endpoint is the
//    link's unix socket, reached through one forwarder: one link connection per server
//    connection), read by the real Linux NFS client in the UML guest;
//  - rclone (`rclone mount --vfs-cache-mode full`) and s3fs: FUSE on the host, read by the host
//    kernel. Not through the guest: UML's hostfs runs each host call synchronously in the
//    guest's single kernel thread, so a slow FUSE call (s3fs renames a directory inside one
//    rename()) would freeze the whole guest and every other program in it.
// Every client uses path-style requests and the bucket prefix MOUNT_PREFIX.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { CephRgw } from '../test/support/ceph-rgw';
import { forwardIntoNs } from '../test/support/ns-bridge';
import { S3filesServer } from '../test/support/s3files-server';
import type { ShapedLink } from '../test/support/shaped-link';
import { nfsMountCommand, type TestNetwork } from '../test/support/uml';
import { MOUNT_PREFIX } from './s3-latency-workloads';

export interface PeerContext {
  net: TestNetwork;
  link: ShapedLink;
  gw: CephRgw;
  bucket: string;
  /** A fresh directory for this column's cache, mount point and logs. */
  workDir: string;
  nfsPort: number;
  extraServerArgs: string[];
}

export interface RunningPeer {
  /** Where the workload script runs: in the UML guest, or on the host. */
  where: 'guest' | 'host';
  mnt: string;
  prelude: string[];
  /** Tail of the peer's log, for failures. */
  output(): string;
  stop(): Promise<void>;
}

export interface PeerDef {
  name: string;
  /** Linked to no bucket (`s3files serve --local`): only the copy onto it is measured. */
  local?: boolean;
  /** Why it cannot run here, or undefined. */
  missing(): string | undefined;
  start(ctx: PeerContext): Promise<RunningPeer>;
}

const onPath = (cmd: string) => (process.env.PATH ?? '/usr/bin:/bin').split(':').some((d) => existsSync(join(d, cmd)));
const tailOf = (file: string, lines = 20) => (existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `s3files serve` in the UML network's namespace, mounted in the guest; `stopAlso` after it. */
async function startServeColumn(ctx: PeerContext, extraArgs: string[], env: NodeJS.ProcessEnv, stopAlso?: () => Promise<void>): Promise<RunningPeer> {
  const server = await S3filesServer.start({
    cacheDir: join(ctx.workDir, 'cache'),
    host: ctx.net.hostIp,
    port: ctx.nfsPort,
    exports: ['bench'],
    logFile: join(ctx.workDir, 'serve.log'),
    spawner: (cmd, args, o) => ctx.net.spawnInNs(cmd, args, o),
    readyTimeoutMs: 60_000,
    extraArgs: [...extraArgs, ...ctx.extraServerArgs],
    env,
  });
  return {
    where: 'guest',
    mnt: '$OUT/mnt',
    prelude: ['mkdir -p "$OUT/mnt"', nfsMountCommand({ host: ctx.net.hostIp, port: ctx.nfsPort, exportPath: '/bench', mountPoint: '$OUT/mnt' })],
    output: () => server.logTail(20),
    async stop() {
      await server.stop(10_000);
      await stopAlso?.();
    },
  };
}

export const s3filesPeer: PeerDef = {
  name: 's3files',
  missing: () => undefined,
  async start(ctx) {
    // The server runs in the UML network's namespace: it reaches the link's own unix socket
    // through one forwarder there, not through a host process as well (rclone and s3fs, on
    // the host, connect to the link directly).
    const sock = join(ctx.workDir, 'link.sock');
    await ctx.link.listenUnix(sock);
    const bridge = await forwardIntoNs(ctx.net, sock, ctx.link.port);
    const args = ['--bucket', ctx.bucket, '--prefix', MOUNT_PREFIX, '--endpoint', `http://127.0.0.1:${bridge.port}`, '--path-style'];
    const env = { AWS_ACCESS_KEY_ID: ctx.gw.accessKeyId, AWS_SECRET_ACCESS_KEY: ctx.gw.secretAccessKey, AWS_REGION: ctx.gw.region };
    return startServeColumn(ctx, args, env, () => bridge.close());
  },
};

/** `s3files serve --local`: the cp -r target's reference, a plain NFS export of local disk. */
export const s3filesLocalPeer: PeerDef = {
  name: 's3files-local',
  local: true,
  missing: () => undefined,
  start: (ctx) => startServeColumn(ctx, ['--local'], {}),
};

/** Starts a FUSE daemon in the foreground and waits for its mount to appear. */
async function fuseMount(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, mnt: string, logFile: string): Promise<RunningPeer> {
  mkdirSync(mnt, { recursive: true });
  const log = createWriteStream(logFile, { flags: 'a' });
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  // The link is plain HTTP; a CA bundle from the environment only breaks rclone's S3 client
  // ("unable to load custom CA bundle, HTTPClient's transport unsupported type").
  delete childEnv.AWS_CA_BUNDLE;
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv });
  // Both pipes into one file: neither may end it (the second would write after the end).
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  log.on('error', () => undefined);
  child.once('close', () => log.end());
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const mounted = () => readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mnt);
  const deadline = Date.now() + 30_000;
  while (!mounted()) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not mount ${mnt}:\n${tailOf(logFile)}`);
    }
    await sleep(100);
  }
  return {
    where: 'host',
    mnt,
    prelude: [],
    output: () => tailOf(logFile),
    async stop() {
      // Unmounting ends the daemon; a daemon that hangs is killed, and a lazy unmount clears the rest.
      spawnSync('fusermount3', ['-u', mnt], { stdio: 'ignore', timeout: 30_000 });
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (mounted()) spawnSync('umount', ['-l', mnt], { stdio: 'ignore' });
    },
  };
}

export const rclonePeer: PeerDef = {
  name: 'rclone',
  missing: () => (onPath('rclone') && onPath('fusermount3') ? undefined : 'rclone or fusermount3 not installed (apt-get install rclone fuse3)'),
  start(ctx) {
    const env = {
      RCLONE_CONFIG: join(ctx.workDir, 'rclone.conf'), // absent: the remote comes from the variables below
      RCLONE_CONFIG_BENCH_TYPE: 's3',
      RCLONE_CONFIG_BENCH_PROVIDER: 'Ceph',
      RCLONE_CONFIG_BENCH_ENDPOINT: ctx.link.endpoint,
      RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: ctx.gw.accessKeyId,
      RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: ctx.gw.secretAccessKey,
      RCLONE_CONFIG_BENCH_REGION: ctx.gw.region,
      RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
    };
    const mnt = join(ctx.workDir, 'mnt');
    const args = ['mount', `bench:${ctx.bucket}/${MOUNT_PREFIX.replace(/\/$/, '')}`, mnt, '--vfs-cache-mode', 'full', '--cache-dir', join(ctx.workDir, 'vfs-cache'), '--log-level', 'NOTICE'];
    return fuseMount('rclone', 'rclone', args, env, mnt, join(ctx.workDir, 'rclone.log'));
  },
};

export const s3fsPeer: PeerDef = {
  name: 's3fs',
  missing: () => (onPath('s3fs') && onPath('fusermount3') ? undefined : 's3fs or fusermount3 not installed (apt-get install s3fs fuse3)'),
  start(ctx) {
    const passwd = join(ctx.workDir, 's3fs.passwd');
    writeFileSync(passwd, `${ctx.gw.accessKeyId}:${ctx.gw.secretAccessKey}\n`, { mode: 0o600 });
    const mnt = join(ctx.workDir, 'mnt');
    const opts = [`url=${ctx.link.endpoint}`, 'use_path_request_style', `passwd_file=${passwd}`, `endpoint=${ctx.gw.region}`, 'dbglevel=warn'];
    const args = [`${ctx.bucket}:/${MOUNT_PREFIX.replace(/\/$/, '')}`, mnt, '-f', '-o', opts.join(',')];
    return fuseMount('s3fs', 's3fs', args, {}, mnt, join(ctx.workDir, 's3fs.log'));
  },
};

export const PEERS: Record<string, PeerDef> = { s3files: s3filesPeer, 's3files-local': s3filesLocalPeer, rclone: rclonePeer, s3fs: s3fsPeer };
