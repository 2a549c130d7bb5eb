// The container image: built from the Dockerfile by scripts/build-image.sh (podman; the
// base image made locally where none can be pulled) and run: `--version`, the controller
// answering GetPluginInfo on its socket, the node plugin starting and answering Probe, no
// development dependency or test inside; its size is printed. The build is incremental
// (podman's layer cache): the first run on a machine takes minutes (debootstrap, npm ci),
// later ones seconds unless the sources changed. S3FILES_SKIP_IMAGE=1 skips this suite.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CsiClient } from '../support/csi-guest';
import { freePort, REPO_ROOT } from '../support/s3files-server';

const execFileP = promisify(execFile);
// As scripts/build-image.sh runs podman (see there: runc, and rlimits a sandbox allows).
const PODMAN = ['--runtime', 'runc'];
const RUN = ['run', '--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096'];

async function podman(args: string[], timeout = 120_000): Promise<string> {
  try {
    return (await execFileP('podman', [...PODMAN, ...args], { timeout, maxBuffer: 16 << 20 })).stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`podman ${args.join(' ')}: ${e.stderr || e.message}`);
  }
}

/** Waits until `fn` resolves, retrying for `timeoutMs`; rejects with the last error. */
async function eventually<T>(fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

(process.env.S3FILES_SKIP_IMAGE === '1' ? describe.skip : describe)('the container image (podman)', function () {
  this.timeout(120_000);
  let image: string;
  let tmp: string;
  const containers: string[] = [];

  before(async function () {
    this.timeout(30 * 60_000);
    const { stdout, stderr } = await execFileP('bash', [path.join(REPO_ROOT, 'scripts', 'build-image.sh')], { maxBuffer: 64 << 20, timeout: 30 * 60_000 }).catch((error: { stderr?: string; message: string }) => {
      throw new Error(`scripts/build-image.sh failed: ${(error.stderr ?? '').slice(-4000) || error.message}`);
    });
    const [name, size] = stdout.trim().split('\n').at(-1)!.split(' ');
    image = name!;
    const timings = stderr.split('\n').filter((l) => /^build-image: (made|built)/.test(l));
    console.log(`      (${image}: ${(Number(size) / 1e6).toFixed(0)} MB; ${timings.map((l) => l.replace('build-image: ', '')).join('; ')})`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's3files-image-'));
  });

  after(async () => {
    for (const name of containers) await podman(['rm', '-f', '-t', '0', name]).catch(() => undefined);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('s3files --version prints the package version', async () => {
    const version = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal((await podman([...RUN, '--rm', '--network', 'none', image, '--version'])).trim(), version);
  });

  it('holds the production dependencies only: no dev dependency, no test, no TypeScript source', async () => {
    const script = 'cd /app/node_modules && ls -d * @*/* ; echo ---; ls /app/dist; echo ---; find /app -name "*.test.js" -o -name "*.ts" ! -name "*.d.ts" | grep -v /node_modules/ | head; echo ---; node --version';
    const [modules, dist, tests, node] = (await podman([...RUN, '--rm', '--network', 'none', '--entrypoint', 'sh', image, '-c', script])).split('---\n');
    const installed = new Set(modules!.split('\n').filter((l) => l !== ''));
    // What npm marks dev-only in the lock: our devDependencies and what only they need.
    const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([key, p]) => p.dev && key.startsWith('node_modules/') && !key.slice(13).includes('node_modules/')).map(([key]) => key.slice(13));
    assert.ok(devOnly.includes('mocha') && devOnly.includes('typescript') && devOnly.includes('patch-package'), devOnly.join(' '));
    assert.deepEqual(devOnly.filter((name) => installed.has(name)), [], 'dev-only packages in the image');
    for (const needed of ['lmdb', '@aws-sdk/client-s3', '@grpc/grpc-js', 'winston']) assert.ok(installed.has(needed), `${needed} missing`);
    assert.deepEqual(dist!.trim().split('\n').sort(), ['cmd', 'pkg']);
    assert.equal(tests!.trim(), '');
    const pinned = /^NODE_VERSION=(\S+)$/m.exec(fs.readFileSync(path.join(REPO_ROOT, 'scripts', 'tool-pins.sh'), 'utf8'))![1];
    assert.equal(node!.trim(), `v${pinned}`);
  });

  it('the controller answers GetPluginInfo on its socket', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'controller-'));
    const name = `s3files-image-test-controller-${process.pid}`;
    containers.push(name);
    await podman([...RUN, '-d', '--name', name, '--network', 'none', '-v', `${dir}:/csi`, image, 'controller', '--endpoint', 'unix:///csi/csi.sock']);
    const client = new CsiClient(path.join(dir, 'csi.sock'));
    try {
      const info = await eventually(() => client.identityCall<{ name: string; vendor_version: string }>('GetPluginInfo', {}, 2_000), 30_000);
      assert.equal(info.name, 's3files.csi.io');
    } finally {
      client.close();
    }
  });

  it('the node plugin starts and answers Probe ready', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'node-'));
    fs.mkdirSync(path.join(dir, 'cache'));
    const name = `s3files-image-test-node-${process.pid}`;
    containers.push(name);
    const port = await freePort();
    await podman([...RUN, '-d', '--name', name, '--network', 'host', '-v', `${dir}:/csi`, '-v', `${path.join(dir, 'cache')}:/var/lib/s3files`, image,
      'node', '--endpoint', 'unix:///csi/csi.sock', '--node-id', 'image-test', '--cache-dir', '/var/lib/s3files', '--nfs-listen', `127.0.0.1:${port}`]);
    const client = new CsiClient(path.join(dir, 'csi.sock'));
    try {
      const probe = await eventually(async () => {
        const p = await client.identityCall<{ ready: { value: boolean } | null }>('Probe', {}, 2_000);
        if (!p.ready?.value) throw new Error('not ready yet');
        return p;
      }, 30_000);
      assert.equal(probe.ready?.value, true);
    } finally {
      client.close();
    }
    const logs = await podman(['logs', name]);
    for (const line of logs.split('\n').filter((l) => l !== '')) assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line: ${line}`);
  });
});
