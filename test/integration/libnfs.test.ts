// Integration through an independent NFSv3 client: libnfs-utils (nfs-cp, nfs-cat, nfs-ls)
// against `bin/s3files serve` on loopback. No kernel NFS client, no namespace, no root.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, S3filesServer } from '../support/s3files-server';

const EXPORT = 'data';
const TOOLS = ['nfs-cp', 'nfs-cat', 'nfs-ls'];

interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a libnfs tool; never rejects (the exit code is part of what the tests check). */
function run(cmd: string, args: string[], timeoutMs = 60000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'buffer', timeout: timeoutMs, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr: stderr.toString('utf8') + (err && err.killed ? ' [killed: timeout]' : '') });
    });
  });
}

function haveTool(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => fs.existsSync(path.join(d, name)));
}

describe('integration: libnfs client against s3files serve', function () {
  this.timeout(120000);
  let tmp: string;
  let server: S3filesServer | undefined;
  let port: number;
  const url = (p: string): string => `nfs://127.0.0.1/${p}?version=3&nfsport=${port}&mountport=${port}`;

  before(async function () {
    const missing = TOOLS.filter((t) => !haveTool(t));
    if (missing.length) {
      if (process.env.S3FILES_SKIP_E2E === '1') {
        console.log(`    skipping: ${missing.join(', ')} not installed (S3FILES_SKIP_E2E=1)`);
        this.skip();
      }
      throw new Error(`${missing.join(', ')} not installed: apt-get install -y libnfs-utils (or S3FILES_SKIP_E2E=1)`);
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's3files-libnfs-'));
    port = await freePort();
    server = await S3filesServer.start({
      cacheDir: path.join(tmp, 'cache'),
      host: '127.0.0.1',
      port,
      exports: [EXPORT],
    });
  });

  after(async function () {
    if (server) await server.stop();
    if (tmp && !process.env.S3FILES_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Failure messages carry the tool's stderr and the server's last log lines. */
  function explain(r: RunResult): string {
    return `exit ${r.code}\nstderr: ${r.stderr}\nserver log tail:\n${server?.logTail(20)}`;
  }

  const SIZE = 8 * 1024 * 1024 + 12345; // several MiB, not a multiple of any block size
  let payload: Buffer;

  it('nfs-cp copies a file of random bytes in', async () => {
    payload = randomBytes(SIZE);
    const src = path.join(tmp, 'payload.bin');
    fs.writeFileSync(src, payload);
    const r = await run('nfs-cp', [src, url(`${EXPORT}/payload.bin`)]);
    assert.equal(r.code, 0, explain(r));
  });

  it('nfs-cat reads it back byte-identical', async () => {
    const r = await run('nfs-cat', [url(`${EXPORT}/payload.bin`)]);
    assert.equal(r.code, 0, explain(r));
    assert.equal(r.stdout.length, SIZE, 'length read back');
    assert.ok(r.stdout.equals(payload), `content differs at byte ${firstDiff(r.stdout, payload)}`);
  });

  it('nfs-cp copies it back out byte-identical', async () => {
    const dst = path.join(tmp, 'out.bin');
    const r = await run('nfs-cp', [url(`${EXPORT}/payload.bin`), dst]);
    assert.equal(r.code, 0, explain(r));
    const got = fs.readFileSync(dst);
    assert.ok(got.equals(payload), `content differs at byte ${firstDiff(got, payload)} (length ${got.length})`);
  });

  it('nfs-cp copies NFS to NFS (server-side read + write in one client)', async () => {
    const r = await run('nfs-cp', [url(`${EXPORT}/payload.bin`), url(`${EXPORT}/copy.bin`)]);
    assert.equal(r.code, 0, explain(r));
    const back = await run('nfs-cat', [url(`${EXPORT}/copy.bin`)]);
    assert.equal(back.code, 0, explain(back));
    assert.ok(back.stdout.equals(payload), `copy differs at byte ${firstDiff(back.stdout, payload)}`);
  });

  it('an empty file round-trips', async () => {
    const src = path.join(tmp, 'empty');
    fs.writeFileSync(src, '');
    const r = await run('nfs-cp', [src, url(`${EXPORT}/empty`)]);
    assert.equal(r.code, 0, explain(r));
    const back = await run('nfs-cat', [url(`${EXPORT}/empty`)]);
    assert.equal(back.code, 0, explain(back));
    assert.equal(back.stdout.length, 0);
  });

  it('nfs-ls lists the files with their sizes', async () => {
    const r = await run('nfs-ls', [url(EXPORT)]);
    assert.equal(r.code, 0, explain(r));
    const listing = r.stdout.toString('utf8');
    const sizes = parseLs(listing);
    assert.equal(sizes.get('payload.bin'), SIZE, `payload.bin size in listing:\n${listing}`);
    assert.equal(sizes.get('copy.bin'), SIZE, `copy.bin size in listing:\n${listing}`);
    assert.equal(sizes.get('empty'), 0, `empty size in listing:\n${listing}`);
  });

  it('nfs-ls -s reports capacity (FSSTAT)', async () => {
    const r = await run('nfs-ls', ['-s', url(EXPORT)]);
    assert.equal(r.code, 0, explain(r));
    const m = /(\d+) of\s+(\d+) bytes free/.exec(r.stdout.toString('utf8'));
    assert.ok(m, `no summary line in:\n${r.stdout.toString('utf8')}`);
    assert.ok(Number(m[2]) > 0, `total bytes ${m[2]}`);
    assert.ok(Number(m[1]) <= Number(m[2]), `free ${m[1]} > total ${m[2]}`);
  });

  it('nfs-cp to an export that does not exist fails cleanly', async () => {
    const src = path.join(tmp, 'payload.bin');
    const r = await run('nfs-cp', [src, url('no-such-export/x.bin')], 30000);
    assert.notEqual(r.code, 0, 'nfs-cp to a missing export must fail');
    assert.ok(!r.stderr.includes('[killed: timeout]'), `nfs-cp hung instead of failing: ${r.stderr}`);
    assert.ok(server?.running, `server died:\n${server?.logTail()}`);
  });

  it('nfs-cat of a missing file fails cleanly', async () => {
    const r = await run('nfs-cat', [url(`${EXPORT}/no-such-file`)], 30000);
    assert.notEqual(r.code, 0, 'nfs-cat of a missing file must fail');
    assert.ok(!r.stderr.includes('[killed: timeout]'), `nfs-cat hung: ${r.stderr}`);
  });

  it('the server still answers afterwards', async () => {
    assert.ok(server?.running, `server not running:\n${server?.logTail()}`);
    const r = await run('nfs-cat', [url(`${EXPORT}/payload.bin`)]);
    assert.equal(r.code, 0, explain(r));
    assert.ok(r.stdout.equals(payload), 'content changed');
  });
});

function firstDiff(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** nfs-ls prints `mode nlink uid gid size name` per entry; returns name → size. */
function parseLs(listing: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of listing.split('\n')) {
    const m = /^\S+\s+\d+\s+\d+\s+\d+\s+(\d+)\s+(.+)$/.exec(line.trim());
    if (m) out.set(m[2] as string, Number(m[1]));
  }
  return out;
}
