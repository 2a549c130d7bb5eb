// Two `s3files serve` processes ("two nodes", each its own cache) on one bucket and prefix of
// Ceph RGW (no bucket notifications), directory TTL an hour, each told of the other with
// --peers: a file written and closed through one (libnfs nfs-cp: an independent NFSv3 client)
// is read with the new bytes through the other within the sync delay + 2 s, both ways.
// (nfs-cp only creates: overwrites and deletions between nodes are in cross-node.test.ts.)
// /status shows the notices sent and received.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { skipS3, useSharedRgw, type CephRgw } from '../support/ceph-rgw';
import { freePort, S3filesServer } from '../support/s3files-server';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const SYNC_DELAY_MS = 500;
const LIMIT_MS = SYNC_DELAY_MS + 2000;
const TOKEN = 'serve-peers-token-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'buffer', timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr: stderr.toString() });
    });
  });
}

(skipS3() ? describe.skip : describe)('two s3files servers on one bucket tell each other (--peers)', function () {
  this.timeout(180_000);
  const rgw = useSharedRgw();
  let gw: CephRgw;
  let tmp = '';
  const servers: S3filesServer[] = [];
  const ports: Array<{ nfs: number; events: number; status: number }> = [];
  const bucket = `peers-${Date.now().toString(36)}`;
  const url = (i: number, p: string) => `nfs://127.0.0.1/data/${p}?version=3&nfsport=${ports[i]!.nfs}&mountport=${ports[i]!.nfs}`;

  before(async function () {
    if (!fs.existsSync('/usr/bin/nfs-cp')) throw new Error('nfs-cp not installed: apt-get install -y libnfs-utils');
    gw = await rgw();
    await gw.createBucket(bucket);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's3files-peers-'));
    for (let i = 0; i < 2; i++) ports.push({ nfs: await freePort(), events: await freePort(), status: await freePort() });
    for (let i = 0; i < 2; i++) {
      const other = ports[1 - i]!;
      servers.push(await S3filesServer.start({
        cacheDir: path.join(tmp, `node-${i}`, 'cache'),
        host: '127.0.0.1',
        port: ports[i]!.nfs,
        exports: ['data'],
        readyTimeoutMs: 30_000,
        extraArgs: [
          '--bucket', bucket, '--prefix', 'shared', '--endpoint', gw.endpoint, '--path-style', '--sync-delay', `${SYNC_DELAY_MS}ms`, '--dir-ttl', '1h',
          '--events-listen', `127.0.0.1:${ports[i]!.events}`, '--peers', `http://127.0.0.1:${other.events}`, '--status-listen', `127.0.0.1:${ports[i]!.status}`,
        ],
        env: { AWS_ACCESS_KEY_ID: gw.accessKeyId, AWS_SECRET_ACCESS_KEY: gw.secretAccessKey, AWS_REGION: gw.region, S3FILES_EVENTS_TOKEN: TOKEN },
      }));
    }
  });

  after(async () => {
    for (const s of servers) await s.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function readOn(i: number, p: string): Promise<Buffer | undefined> {
    const r = await run('nfs-cat', [url(i, p)]);
    return r.code === 0 ? r.stdout : undefined;
  }

  async function writeOn(i: number, p: string, data: string): Promise<void> {
    const src = path.join(tmp, `src-${Date.now()}`);
    fs.writeFileSync(src, data);
    const r = await run('nfs-cp', [src, url(i, p)]);
    assert.equal(r.code, 0, `nfs-cp: ${r.stderr}\n${servers[i]?.logTail(20)}`);
  }

  async function within(what: string, check: () => Promise<boolean>): Promise<number> {
    const t0 = Date.now();
    while (!(await check())) {
      if (Date.now() - t0 > LIMIT_MS) throw new Error(`${what}: not within ${LIMIT_MS} ms\n${servers.map((s) => s.logTail(10)).join('\n')}`);
      await sleep(50);
    }
    return Date.now() - t0;
  }

  it('a file written and closed on one is read with the new bytes on the other within the sync delay + 2 s', async () => {
    const ls = await run('nfs-ls', [`nfs://127.0.0.1/data?version=3&nfsport=${ports[1]!.nfs}&mountport=${ports[1]!.nfs}`]);
    assert.equal(ls.code, 0, ls.stderr); // node 1 has listed the (empty) root: only a notice can change it now
    const timings: Record<string, number> = {};
    await writeOn(0, 'report.txt', 'written on node 0\n');
    timings.created = await within('created', async () => (await readOn(1, 'report.txt'))?.toString() === 'written on node 0\n');
    await writeOn(0, 'second.txt', 'node 0 again\n');
    timings.second = await within('second file', async () => (await readOn(1, 'second.txt'))?.toString() === 'node 0 again\n');
    await writeOn(1, 'answer.txt', 'from node 1\n');
    timings.otherWay = await within('other way', async () => (await readOn(0, 'answer.txt'))?.toString() === 'from node 1\n');
    // eslint-disable-next-line no-console
    console.log(`      close on one → readable on the other (ms, sync delay ${SYNC_DELAY_MS}): ${JSON.stringify(timings)}`);
    const status = (await (await fetch(`http://127.0.0.1:${ports[1]!.status}/status`)).json()) as { events: { feeds: { data: { received: number; peers: { notices: number } } } } };
    assert.ok(status.events.feeds.data.received >= 2, JSON.stringify(status.events));
    assert.ok(status.events.feeds.data.peers.notices >= 1, JSON.stringify(status.events));
  });
});
