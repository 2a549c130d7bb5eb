// `s3files serve` through an independent NFS client (libnfs-utils): with no bucket (the
// embedded FolderStore under <cache-dir>/objects, the README's main job), with --local (linked
// to nothing), and with --bucket on a real Ceph RGW (credentials from AWS_* variables, never logged). The status
// endpoint (/status, /status/file, /metrics) and `s3files status` are checked on the way.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FolderStore } from '../../pkg/s3/folder-store';
import { S3Store } from '../../pkg/s3/s3-store';
import { rgwStore, skipS3, useSharedRgw, type CephRgw } from '../support/ceph-rgw';
import { freePort, S3FILES_BIN, S3filesServer } from '../support/s3files-server';
import { locateOnMount } from '../../cmd/status';

const execFileP = promisify(execFile);
const isJson = (line: string) => {
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
};
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

function haveLibnfs(): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => fs.existsSync(path.join(d, 'nfs-cp')));
}

interface Running {
  server: S3filesServer;
  port: number;
  statusUrl: string;
  url(p: string): string;
}

async function startServe(tmp: string, extraArgs: string[], env: NodeJS.ProcessEnv = {}): Promise<Running> {
  const port = await freePort();
  const statusPort = await freePort();
  const server = await S3filesServer.start({
    cacheDir: path.join(tmp, 'cache'),
    host: '127.0.0.1',
    port,
    exports: ['data'],
    extraArgs: ['--sync-delay', '200ms', '--dir-ttl', '1s', '--status-listen', `127.0.0.1:${statusPort}`, ...extraArgs],
    env,
  });
  return { server, port, statusUrl: `http://127.0.0.1:${statusPort}`, url: (p) => `nfs://127.0.0.1/data/${p}?version=3&nfsport=${port}&mountport=${port}` };
}

async function waitSynced(statusUrl: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = (await (await fetch(`${statusUrl}/status`)).json()) as { exports: { data: { pendingFiles: number; tombstones: number } } };
    if (st.exports.data.pendingFiles === 0 && st.exports.data.tombstones === 0) return st.exports.data;
    if (Date.now() > deadline) throw new Error(`not synced: ${JSON.stringify(st)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function nfsCp(from: string, to: string): Promise<void> {
  await execFileP('nfs-cp', [from, to], { timeout: 60_000 });
}

async function nfsCat(url: string): Promise<Buffer> {
  return (await execFileP('nfs-cat', [url], { encoding: 'buffer', timeout: 60_000, maxBuffer: 64 << 20 })).stdout;
}

describe('integration: serve linked to a bucket', function () {
  this.timeout(120_000);
  let tmp: string;
  before(function () {
    if (!haveLibnfs()) {
      if (process.env.S3FILES_SKIP_E2E === '1') this.skip();
      throw new Error('nfs-cp not installed: apt-get install -y libnfs-utils (or S3FILES_SKIP_E2E=1)');
    }
  });
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's3files-serve-link-'));
  });
  afterEach(() => {
    if (!process.env.S3FILES_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('with no bucket: files reach the embedded object store under <cache-dir>/objects', async () => {
    const r = await startServe(tmp, []);
    try {
      const payload = randomBytes(3 * 1024 * 1024 + 7);
      fs.writeFileSync(path.join(tmp, 'in.bin'), payload);
      await nfsCp(path.join(tmp, 'in.bin'), r.url('in.bin'));
      const synced = await waitSynced(r.statusUrl);
      assert.ok((synced.stats as { puts: number }).puts >= 1);
      const file = (await (await fetch(`${r.statusUrl}/status/file?export=data&path=/in.bin`)).json()) as { inBucket: boolean; bucketKey: string; etag: string };
      assert.equal(file.inBucket, true);
      assert.equal(file.bucketKey, 'in.bin');
      assert.equal(file.etag, md5(payload));
      const cli = await execFileP(process.execPath, [S3FILES_BIN, 'status', '--server', r.statusUrl, 'data:/in.bin']);
      assert.match(cli.stdout, /in the bucket as in\.bin/);
      const prom = await (await fetch(`${r.statusUrl}/metrics`)).text();
      assert.match(prom, /s3files_sync_operations_total\{export="data",op="put"\} [1-9]/);
      assert.match(prom, /s3files_sync_pending_files\{export="data"\} 0/);
    } finally {
      await r.server.stop();
    }
    const store = await FolderStore.open(path.join(tmp, 'cache', 'objects'));
    const obj = await store.getBuffer('in.bin');
    assert.equal(obj.data.length, 3 * 1024 * 1024 + 7);
    assert.equal(Number(obj.info.metadata.mode) & 0o170000, 0o100000, JSON.stringify(obj.info.metadata));
  });

  it('--local: a plain NFS export under <cache-dir>/local, kept across a restart, no object store at all', async () => {
    const payload = randomBytes(1024 * 1024 + 3);
    fs.writeFileSync(path.join(tmp, 'in.bin'), payload);
    let r = await startServe(tmp, ['--local']);
    try {
      await nfsCp(path.join(tmp, 'in.bin'), r.url('in.bin'));
      const st = (await (await fetch(`${r.statusUrl}/status`)).json()) as { exports: Record<string, unknown> };
      assert.deepEqual(st.exports, { data: { local: true } });
    } finally {
      await r.server.stop();
    }
    assert.equal(fs.existsSync(path.join(tmp, 'cache', 'objects')), false, 'no embedded object store was made');
    assert.ok(fs.existsSync(path.join(tmp, 'cache', 'local', 'data')));
    r = await startServe(tmp, ['--local']);
    try {
      assert.equal(md5(await nfsCat(r.url('in.bin'))), md5(payload));
    } finally {
      await r.server.stop();
    }
    await assert.rejects(execFileP(process.execPath, [S3FILES_BIN, 'serve', '--local', '--bucket', 'b', '--cache-dir', path.join(tmp, 'x')]), /--local and --bucket exclude each other/);
  });

  (skipS3() ? describe.skip : describe)('with --bucket on Ceph RGW', () => {
    const rgw = skipS3() ? undefined : useSharedRgw();
    let gw: CephRgw;
    let store: S3Store;
    const bucket = `serve-${Date.now().toString(36)}`;
    before(async () => {
      gw = await rgw!();
      await gw.createBucket(bucket);
      store = rgwStore(gw, bucket);
    });
    after(() => store?.destroy());
    const env = () => ({ AWS_ACCESS_KEY_ID: gw.accessKeyId, AWS_SECRET_ACCESS_KEY: gw.secretAccessKey, AWS_REGION: gw.region });
    const args = () => ['--bucket', bucket, '--prefix', 'vol1', '--endpoint', gw.endpoint, '--path-style'];

    it('writes reach the bucket under the prefix; objects put directly are readable; no secret in the log', async () => {
      await store.put('vol1/from-s3.txt', Buffer.from('put directly'), { metadata: { mode: '33188' } });
      const r = await startServe(tmp, args(), env());
      try {
        const payload = randomBytes(20 * 1024 * 1024 + 3);
        fs.writeFileSync(path.join(tmp, 'big.bin'), payload);
        await nfsCp(path.join(tmp, 'big.bin'), r.url('big.bin'));
        await waitSynced(r.statusUrl);
        const obj = await store.getBuffer('vol1/big.bin');
        assert.equal(md5(obj.data), md5(payload));
        assert.equal(Number(obj.info.metadata.mode) & 0o170000, 0o100000);
        assert.equal((await nfsCat(r.url('from-s3.txt'))).toString(), 'put directly');
      } finally {
        await r.server.stop();
      }
      const log = fs.readFileSync(r.server.logFile, 'utf8');
      assert.ok(!log.includes(gw.secretAccessKey), 'the secret key appears in the log');
      assert.match(log, /export linked/);
      // Nothing but JSON log lines on stderr: e.g. no AWS SDK NodeVersionSupportWarning (it
      // prints one on a Node.js it no longer supports; no variable hides it here).
      const notJson = log.split('\n').filter((line) => line !== '' && !line.startsWith('--- start ') && !isJson(line));
      assert.deepEqual(notJson, [], 'stderr lines that are not JSON');
    });

    it('a bucket that does not exist stops serve with a clear message', async () => {
      await assert.rejects(
        startServe(tmp, ['--bucket', 'no-such-bucket-here', '--endpoint', gw.endpoint, '--path-style'], env()),
        /bucket no-such-bucket-here does not exist/,
      );
    });
  });
});

describe('s3files status: finding the export of a path on a mount', () => {
  it('takes the longest NFS mount containing the path', () => {
    const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 's3files-mnt-')));
    try {
      fs.mkdirSync(path.join(tmp, 'mnt', 'sub'), { recursive: true });
      fs.writeFileSync(path.join(tmp, 'mnt', 'sub', 'f.txt'), 'x');
      const mounts = [
        `/dev/vda / ext4 rw 0 0`,
        `10.0.0.1:/data ${tmp} nfs rw,vers=3 0 0`,
        `127.0.0.1:/other ${tmp}/mnt nfs rw,vers=3 0 0`,
      ].join('\n');
      assert.deepEqual(locateOnMount(path.join(tmp, 'mnt', 'sub', 'f.txt'), mounts), { exportName: 'other', path: '/sub/f.txt' });
      assert.deepEqual(locateOnMount(path.join(tmp, 'mnt'), mounts), { exportName: 'other', path: '/' });
      assert.throws(() => locateOnMount(tmp, '/dev/vda / ext4 rw 0 0'), /not on an NFS mount/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
