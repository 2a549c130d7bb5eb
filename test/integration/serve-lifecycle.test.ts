// `s3files serve` as a process: a start that fails leaves no cache state behind and says what
// to do; SIGTERM while S3 hangs frees the NFS port at once and exits within --shutdown-timeout,
// a second signal at once, each saying what it left; and a kill of the npx process that started
// the server does not leave the server running under PID 1.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { XdrWriter } from '../../pkg/nfs/xdr';
import { skipS3, useSharedRgw } from '../support/ceph-rgw';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { RpcTestClient } from '../support/rpc-client';
import { freePort, REPO_ROOT, S3FILES_BIN } from '../support/s3files-server';
import { until } from '../support/proc';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

interface Proc {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  stderr: () => string;
  exited: Promise<{ code: number | null; at: number }>;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}, command = process.execPath, argv0: string[] = [S3FILES_BIN]): Proc {
  const child = spawn(command, [...argv0, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, S3FILES_LOG_LEVEL: 'info', ...env } });
  let text = '';
  const lines: Array<Record<string, unknown>> = [];
  child.stderr!.on('data', (c: Buffer) => {
    const before = text.length;
    text += c.toString();
    for (const l of text.slice(text.lastIndexOf('\n', before - 1) + 1).split('\n').slice(0, -1)) {
      try {
        lines.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        /* not a log line */
      }
    }
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.once('exit', (code) => resolve({ code, at: Date.now() })));
  return { child, lines, stderr: () => text, exited };
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** Pids whose command line mentions `marker` (a unique cache directory). */
function pidsWith(marker: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(marker)) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

const str = (s: string): Buffer => Buffer.from(new XdrWriter().string(s).toBuffer());

/** MNT, CREATE and a FILE_SYNC WRITE over the wire: a file whose upload is queued. */
async function writeFileOverNfs(port: number, name: string, data: Buffer): Promise<void> {
  const c = await RpcTestClient.connect(port);
  try {
    const mnt = await c.call(100005, 3, 1, str('/data'));
    assert.equal(mnt.results.uint32(), 0, 'MNT');
    const root = mnt.results.opaque(64);
    const create = new XdrWriter().opaque(root).string(name).uint32(0);
    for (let i = 0; i < 6; i++) create.uint32(0); // sattr3: nothing set
    const created = await c.call(100003, 3, 8, Buffer.from(create.toBuffer()));
    assert.equal(created.results.uint32(), 0, 'CREATE');
    assert.equal(created.results.uint32(), 1, 'CREATE returns the handle');
    const fh = created.results.opaque(64);
    const write = new XdrWriter().opaque(fh).uint64(0n).uint32(data.length).uint32(2).opaque(data);
    assert.equal((await c.call(100003, 3, 7, Buffer.from(write.toBuffer()))).results.uint32(), 0, 'WRITE');
  } finally {
    c.close();
  }
}

describe('s3files serve as a process', function () {
  this.timeout(60_000);
  let tmp: string;
  const started: Proc[] = [];

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's3files-lifecycle-'));
  });

  afterEach(async () => {
    for (const p of started.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    for (const pid of pidsWith(tmp)) process.kill(pid, 'SIGKILL'); // orphans this test made
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a start that fails on a bad flag leaves no cache directory behind', async () => {
    const cache = path.join(tmp, 'cache');
    const cases: Array<[string[], string]> = [
      [['--export', 'data,a b'], 's3files: --export "a b" is not a valid export name (letters, digits, . _ - and / between parts)'],
      [['--listen', '10.255.255.254:2049'], 's3files: --listen 10.255.255.254:2049: cannot listen there: no interface of this machine has that address'],
      [['--log-level', 'verbose'], 's3files: --log-level must be one of error, warn, info, debug; got "verbose"'],
      [['--upload-jobs', '0'], 's3files: --upload-jobs must be a whole number from 1 to 1024, got "0"'],
      [['--import-requests', 'many'], 's3files: --import-requests must be a whole number from 1 to 1024, got "many"'],
      [['--bucket', 'b', '--endpoint', 'rgw:7480'], 's3files: --endpoint must be an http:// or https:// URL such as http://rgw:7480, got "rgw:7480"'],
    ];
    for (const [args, message] of cases) {
      const p = run(['serve', '--cache-dir', cache, ...args]);
      started.push(p);
      assert.equal((await p.exited).code, 1);
      assert.equal(p.stderr().trim().split('\n').pop(), message);
      assert.equal(fs.existsSync(cache), false, `${args.join(' ')} created ${cache}`);
    }
  });

  it('SIGTERM while S3 hangs: the NFS port is free at once, the process gone within --shutdown-timeout', async function () {
    if (skipS3()) this.skip();
    const rgw = await useSharedRgw()();
    const bucket = `lifecycle-${process.pid}`;
    await rgw.createBucket(bucket);
    const proxy: FaultProxy = await startFaultProxy({ target: rgw.endpoint });
    const env = { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region };
    /** A server with one upload hanging on S3. */
    const startStuck = async (name: string, shutdownTimeout: string): Promise<{ p: Proc; port: number }> => {
      proxy.mode = 'forward';
      const port = await freePort();
      const p = run(['serve', '--cache-dir', path.join(tmp, name), '--listen', `127.0.0.1:${port}`, '--bucket', bucket, '--prefix', name, '--endpoint', proxy.endpoint, '--path-style', '--sync-delay', '1s', '--shutdown-timeout', shutdownTimeout], env);
      started.push(p);
      await until('serving', () => p.lines.some((l) => l.message === 'serving'), 20_000);
      await writeFileOverNfs(port, 'stuck.bin', Buffer.alloc(64 * 1024, 7));
      const hungBefore = proxy.hung;
      proxy.mode = 'hang';
      await until('an upload hanging on S3', () => proxy.hung > hungBefore && p.lines.some((l) => l.message === 'serving'), 20_000);
      return { p, port };
    };
    try {
      const { p, port } = await startStuck('one', '2s');
      const t0 = Date.now();
      p.child.kill('SIGTERM');
      await until('the NFS port to be free', () => portIsFree(port), 1000);
      const { code, at } = await p.exited;
      assert.equal(code, 1);
      assert.ok(at - t0 < 4000, `exited ${at - t0} ms after SIGTERM`);
      const waited = p.lines.find((l) => l.message === 'shutdown: still waiting for uploads in progress');
      assert.equal((waited?.exports as Record<string, { running: number }> | undefined)?.data?.running, 1, p.stderr());
      const gaveUp = p.lines.find((l) => l.message === 'shutdown: gave up after 2 s; stopping now');
      assert.equal(gaveUp?.waitingFor, 'uploads in progress', p.stderr());
      assert.deepEqual(gaveUp?.skipped, ['exports']);
      assert.equal(gaveUp?.note, 'queued changes stay on disk and are uploaded after the next start');

      // A second signal ends it at once, whatever the timeout.
      const { p: q } = await startStuck('two', '5m');
      q.child.kill('SIGTERM');
      await until('waiting for uploads', () => q.lines.some((l) => l.message === 'shutdown: uploads in progress'), 20_000);
      const t1 = Date.now();
      q.child.kill('SIGTERM');
      const second = await q.exited;
      assert.equal(second.code, 1);
      assert.ok(second.at - t1 < 1500, `exited ${second.at - t1} ms after the second signal`);
      const left = q.lines.find((l) => l.message === 'second signal: stopping now');
      assert.equal(left?.waitingFor, 'uploads in progress', q.stderr());
      assert.deepEqual(left?.skipped, ['exports']);
    } finally {
      proxy.mode = 'forward';
      await proxy.close();
    }
  });

  it("the quick start's cache directory with --bucket added: says what to do, links nothing", async function () {
    if (skipS3()) this.skip();
    const rgw = await useSharedRgw()();
    const bucket = `quickstart-${process.pid}`;
    await rgw.createBucket(bucket);
    const cache = path.join(tmp, 'cache');
    const port = await freePort();
    const first = run(['serve', '--cache-dir', cache, '--listen', `127.0.0.1:${port}`]);
    started.push(first);
    await until('serving', () => first.lines.some((l) => l.message === 'serving'), 20_000);
    first.child.kill('SIGTERM');
    assert.equal((await first.exited).code, 0);
    const env = { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region };
    const second = run(['serve', '--cache-dir', cache, '--listen', `127.0.0.1:${port}`, '--bucket', bucket, '--endpoint', rgw.endpoint, '--path-style'], env);
    started.push(second);
    assert.equal((await second.exited).code, 1);
    assert.equal(
      second.stderr().trim().split('\n').pop(),
      `s3files: --cache-dir ${cache} already holds export "data" linked to folder:${cache}/objects/; a cache directory stays linked to one place, so it cannot serve s3://${bucket}/. ` +
        `Pass another --cache-dir for s3://${bucket}/, or serve this one as before (without --bucket).`,
    );
  });

  it('a kill of the npx process that started the server stops the server and frees its port', async () => {
    const port = await freePort();
    const npx = run(['--offline', 's3files', 'serve', '--cache-dir', path.join(tmp, 'cache'), '--listen', `127.0.0.1:${port}`], {}, 'npx', []);
    started.push(npx);
    await until('the server to listen', async () => !(await portIsFree(port)), 30_000);
    npx.child.kill('SIGTERM');
    await npx.exited;
    await until('the port to be free after killing npx', () => portIsFree(port), 5000);
    await until('no s3files process left', () => pidsWith(tmp).length === 0, 5000);
  });

  it('a kill of npx while the server is still starting (S3 slow to answer) stops it as soon as it has started', async function () {
    if (skipS3()) this.skip();
    const rgw = await useSharedRgw()();
    const bucket = `lifecycle-npx-${process.pid}`;
    await rgw.createBucket(bucket);
    const proxy = await startFaultProxy({ target: rgw.endpoint });
    try {
      proxy.mode = 'hang';
      const port = await freePort();
      const env = { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region };
      const args = ['--offline', 's3files', 'serve', '--cache-dir', path.join(tmp, 'cache'), '--listen', `127.0.0.1:${port}`, '--bucket', bucket, '--endpoint', proxy.endpoint, '--path-style'];
      const npx = run(args, env, 'npx', []);
      started.push(npx);
      await until('the start to wait on S3', () => proxy.hung > 0, 30_000);
      npx.child.kill('SIGTERM');
      await npx.exited;
      proxy.setMode('forward'); // the start goes on, and finds itself orphaned
      await until('the orphaned server to notice', () => npx.lines.some((l) => l.message === 'the npm process that started s3files is gone: shutting down'), 20_000);
      await until('no s3files process left', () => pidsWith(tmp).length === 0, 10_000);
      assert.ok(await portIsFree(port));
    } finally {
      await proxy.close();
    }
  });
});
