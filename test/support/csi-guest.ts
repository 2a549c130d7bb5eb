// In-guest helpers for the CSI node end-to-end test (test/e2e/csi-node-driver.ts runs inside a
// UML guest): the node plugin as a child process that can be SIGKILLed and started again, a
// grpc-js client of its CSI socket built from the same csi.proto the plugin loads, and a
// recorder that writes every check to a JSON file on the host ($OUT) as soon as it is known, so
// a guest that dies half-way still leaves the results of what ran.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { Secret } from '../../pkg/csi/params';
import { loadCsi } from '../../pkg/csi/proto';
import { S3FILES_BIN } from './s3files-server';

export interface CheckResult {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
  data?: unknown;
}

export interface DriverResults {
  checks: CheckResult[];
  /** True once the driver reached its end (cleanup included), whatever the checks said. */
  finished: boolean;
}

/** Records named checks; every change is written to `file` at once (the host reads it). */
export class CheckRecorder {
  readonly results: DriverResults = { checks: [], finished: false };

  constructor(private readonly file: string) {}

  /** Runs fn; a throw marks the check failed (and is not rethrown). Returns fn's value or undefined. */
  async check<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
    const started = Date.now();
    process.stdout.write(`[driver] ${name} ...\n`);
    try {
      const value = await fn();
      this.add({ name, ok: true, ms: Date.now() - started, ...(value === undefined ? {} : { data: value }) });
      return value;
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.add({ name, ok: false, ms: Date.now() - started, error });
      process.stdout.write(`[driver] ${name} FAILED: ${error}\n`);
      return undefined;
    }
  }

  /** A check that could not run because something it depends on failed. */
  notRun(name: string, why: string): void {
    this.add({ name, ok: false, ms: 0, error: `not run: ${why}` });
  }

  finish(): void {
    this.results.finished = true;
    this.flush();
  }

  private add(r: CheckResult): void {
    this.results.checks.push(r);
    this.flush();
  }

  private flush(): void {
    // Write and rename, so the host never reads a half-written file.
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.results, null, 2));
    renameSync(`${this.file}.tmp`, this.file);
  }
}

type AnyClient = grpc.Client & Record<string, unknown>;

/** Identity and Node clients of one plugin socket; short reconnect backoff for restarts. */
export class CsiClient {
  private readonly identity: AnyClient;
  private readonly node: AnyClient;

  constructor(socketPath: string) {
    const csi = loadCsi();
    const address = `unix://${socketPath}`;
    const creds = grpc.credentials.createInsecure();
    // The default backoff grows to 2 minutes; the test restarts the plugin within seconds.
    const options = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 };
    this.identity = new csi.Identity(address, creds, options) as unknown as AnyClient;
    this.node = new csi.Node(address, creds, options) as unknown as AnyClient;
  }

  identityCall<T = Record<string, unknown>>(method: string, request: object, timeoutMs = 10_000): Promise<T> {
    return unary<T>(this.identity, method, request, timeoutMs);
  }

  nodeCall<T = Record<string, unknown>>(method: string, request: object, timeoutMs = 90_000): Promise<T> {
    return unary<T>(this.node, method, request, timeoutMs);
  }

  /** Resolves with the gRPC status code of a call expected to fail; throws if it succeeded. */
  async nodeCallCode(method: string, request: object): Promise<{ code: grpc.status; details: string }> {
    try {
      await this.nodeCall(method, request);
    } catch (err) {
      const e = err as grpc.ServiceError;
      return { code: e.code, details: e.details };
    }
    throw new Error(`${method} succeeded but was expected to fail`);
  }

  close(): void {
    this.identity.close();
    this.node.close();
  }
}

function unary<T>(client: AnyClient, method: string, request: object, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const fn = client[method] as (req: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: T) => void) => void;
    const opts: grpc.CallOptions = { deadline: Date.now() + timeoutMs, waitForReady: true } as grpc.CallOptions;
    fn.call(client, request, opts, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

export interface NodePluginOptions {
  socketPath: string;
  nodeId: string;
  cacheDir: string;
  nfsListen: string;
  /** stdout and stderr of every start are appended here. */
  logFile: string;
  /** More flags for `s3files node`. */
  extraArgs?: string[];
}

/** `s3files node` as a child process: start, wait until Probe says ready, SIGKILL, start again. */
export class NodePlugin {
  private child?: ChildProcess;
  private exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  starts = 0;

  constructor(readonly options: NodePluginOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the plugin and resolves with a client once Probe answers ready=true. */
  async start(timeoutMs = 60_000): Promise<CsiClient> {
    const o = this.options;
    const log = openSync(o.logFile, 'a');
    writeSync(log, `--- start ${this.starts + 1} at ${new Date().toISOString()}\n`);
    const args = [S3FILES_BIN, 'node', '--endpoint', `unix://${o.socketPath}`, '--node-id', o.nodeId, '--cache-dir', o.cacheDir, '--nfs-listen', o.nfsListen, ...(o.extraArgs ?? [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    this.child = child;
    this.starts += 1;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const client = new CsiClient(o.socketPath);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`s3files node exited (${child.exitCode ?? child.signalCode}) before it was ready`);
      try {
        const probe = await client.identityCall<{ ready: { value: boolean } | null }>('Probe', {}, 2_000);
        if (probe.ready?.value) return client;
      } catch {
        // Not listening yet (or the stale socket of the killed plugin): try again.
      }
      if (Date.now() > deadline) {
        client.close();
        throw new Error(`s3files node not ready after ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The crash case: SIGKILL, nothing flushed; resolves once the process is gone. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (the plugin's orderly shutdown); resolves with its exit code, SIGKILL after graceMs. */
  async stop(graceMs = 15_000): Promise<number | null> {
    if (!this.child || !this.exited) return null;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    const { code } = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** Where the guest finds the S3 server (Ceph RGW on the host, bridged to HOST_IP), from its env. */
export interface E2eS3 {
  bucket: string;
  /** http://HOST_IP:PORT: the namespace bridge to RGW, as the guest reaches it. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** The environment variables csi-node.test.ts gives the guest for E2eS3. */
export const E2E_S3_ENV = {
  bucket: 'S3_BUCKET',
  endpoint: 'S3_ENDPOINT',
  region: 'S3_REGION',
  accessKeyId: 'S3_ACCESS_KEY_ID',
  secretAccessKey: 'S3_SECRET_ACCESS_KEY',
} as const;

export function e2eS3FromEnv(env: NodeJS.ProcessEnv = process.env): E2eS3 {
  const get = (k: keyof E2eS3): string => {
    const v = env[E2E_S3_ENV[k]];
    if (!v) throw new Error(`${E2E_S3_ENV[k]} is not set`);
    return v;
  };
  return { bucket: get('bucket'), endpoint: get('endpoint'), region: get('region'), accessKeyId: get('accessKeyId'), secretAccessKey: get('secretAccessKey') };
}

/** The volume's prefix in the bucket, and its capacity (256 MiB, less than the guest's tmpfs). */
export const E2E_PREFIX = 'volumes/pvc-e2e';
export const E2E_CAPACITY = 256 << 20;
/** An object put into the bucket before staging (under E2E_PREFIX); small enough to be prefetched. */
export const E2E_PRE_OBJECT = 'pre/put-before.bin';
/** The file the driver writes right before NodeUnpublish + NodeUnstage (under the volume's root). */
export const E2E_LAST_FILE = 'last/written-before-unstage.bin';

/**
 * The volume the CSI node e2e test stages: a dynamic-style ID, the volume context CreateVolume
 * would return for it (with the endpoint and path-style of an S3-compatible server, and the
 * capacity NodeGetVolumeStats must report), and the node-stage secrets (params.ts Secret keys).
 * The sync delay is an hour, so that a change reaches the bucket only through what is being
 * tested: the upload of everything pending when a restarted plugin reopens the volume, and the
 * drain of NodeUnstageVolume.
 */
export function e2eVolume(s3: E2eS3) {
  return {
    id: `v1:${s3.bucket}:${E2E_PREFIX}`,
    capacityBytes: E2E_CAPACITY,
    context: {
      bucket: s3.bucket, prefix: E2E_PREFIX, endpoint: s3.endpoint, forcePathStyle: 'true', region: s3.region, capacityBytes: String(E2E_CAPACITY), syncDelay: '1h',
    },
    secrets: { [Secret.accessKeyId]: s3.accessKeyId, [Secret.secretAccessKey]: s3.secretAccessKey },
  };
}

/** Where the guest's "kubelet" keeps its paths (a tmpfs in the guest) and the plugin its socket. */
export const GUEST_PATHS = {
  socket: '/run/s3files/csi.sock',
  staging: '/run/kubelet/plugins/kubernetes.io/csi/s3files.csi.io/e2e/globalmount',
  targetRw: '/run/kubelet/pods/pod-a/volumes/kubernetes.io~csi/pv-e2e/mount',
  targetRo: '/run/kubelet/pods/pod-b/volumes/kubernetes.io~csi/pv-e2e/mount',
  kubeletRoot: '/run/kubelet',
  /**
   * The node's cache, on the guest's tmpfs like a real node's local disk. Not on hostfs: UML's
   * hostfs reports st_blocks 0 for a file held open, and the cache measures the space its files
   * use with fstat, so NodeGetVolumeStats would report nothing used.
   */
  cacheDir: '/run/s3files/cache',
  nfsListen: '127.0.0.1:20490',
  /** The plugin's --status-listen: /metrics and /status. */
  statusListen: '127.0.0.1:20491',
} as const;

/** The ffmpeg outputs the driver copies to $OUT/got after the restart (compared on the host). */
export const FFMPEG_OUTPUTS = ['out.mp3', 'out.mp4', 'fs.mp4'] as const;
