// Server restart under load, through the real Linux NFS client: a guest process appends
// fsync'd records (and unstable 64 KiB chunks) with its files, a held read-only fd and its cwd
// on the mount, while the host SIGKILLs `s3files serve` twice and restarts it on the same port
// and cache dir. The writer must carry on with the same open files (no ESTALE, no EIO), and
// every record it saw acknowledged -- in fact every byte it wrote -- must be there afterwards,
// read back both by the guest (same fd, then after drop_caches) and by libnfs from the host.
import assert from 'assert';
import { createHash } from 'crypto';
import { existsSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { requireE2E } from '../support/e2e';
import { assertStep, E2E_EXPORT, E2E_PORT, guestScript, startServerInNs, step } from '../support/e2e-steps';
import { sleep } from '../support/proc';
import type { S3filesServer } from '../support/s3files-server';
import { runGuest, TestNetwork, type GuestResult } from '../support/uml';

const RECORD = 4096;
const CHUNK = 64 << 10;
const ROUNDS = 2;
const DOWN_MS = 1500;
const RECORDS_BETWEEN_KILLS = 40;

interface Progress {
  acked: number;
  bulk_chunks: number;
  errors: Array<{ op: string; error: string; errno: number | null; errname: string | null; acked: number }>;
  done: boolean;
  ok: boolean;
  stalls: Array<{ after_record: number; secs: number }>;
}

interface KillRound {
  ackedAtKill: number;
  bulkAtKill: number;
  /** ms from the restart until the writer acknowledged RECORDS_BETWEEN_KILLS more records. */
  resumedAfterMs?: number;
}

function expectedRecord(i: number): Buffer {
  const head = Buffer.from(`REC${String(i).padStart(10, '0')}|`);
  const seed = createHash('sha256').update(`record-${i}`).digest();
  const bodyLen = RECORD - head.length - 1;
  const body = Buffer.alloc(bodyLen);
  for (let o = 0; o < bodyLen; o += seed.length) seed.copy(body, o, 0, Math.min(seed.length, bodyLen - o));
  return Buffer.concat([head, body, Buffer.from('\n')]);
}

function expectedChunk(i: number): Buffer {
  const seed = createHash('sha256').update(`bulk-${i}`).digest();
  const out = Buffer.alloc(CHUNK);
  for (let o = 0; o < CHUNK; o += seed.length) seed.copy(out, o);
  return out;
}

function readProgress(path: string): Progress | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Progress;
  } catch {
    return undefined; // not written yet, or mid-rename
  }
}

describe('e2e: s3files killed (SIGKILL) and restarted under a kernel-client workload', function () {
  this.timeout(600_000);
  let net: TestNetwork | undefined;
  let server: S3filesServer | undefined;
  let guest: GuestResult | undefined;
  let progress: Progress | undefined;
  const rounds: KillRound[] = [];
  let hostError: Error | undefined;
  let fetched: { records?: Buffer; bulk?: Buffer; error?: string } = {};

  before(async function () {
    requireE2E(this, [{ ok: existsSync('/usr/bin/nfs-cp'), what: 'nfs-cp (apt-get install libnfs-utils)' }]);
    net = await TestNetwork.create();
    server = await startServerInNs(net);
    const outDir = net.makeTempDir('restart-guest');
    const progressPath = join(outDir, 'progress.json');
    const script = guestScript(net, [
      step('writer', '$PY "$W/restart-writer.py" "$MNT" --progress "$OUT/progress.json" --until "$OUT/stop" ' +
        '--bulk --drop-caches --min-records 100 --interval-ms 5', 420),
    ]);
    let guestDone = false;
    const guestRun = runGuest(net, { script, timeoutMs: 480_000, outDir }).finally(() => {
      guestDone = true;
    });

    /** Waits until the writer has acknowledged `target` records; throws if it fails or stalls. */
    const waitAcked = async (target: number, timeoutMs: number, what: string): Promise<Progress> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const p = readProgress(progressPath);
        if (p && p.errors.length) throw new Error(`writer reported errors while ${what}: ${JSON.stringify(p.errors)}`);
        if (p && p.acked >= target) return p;
        if (guestDone) throw new Error(`guest ended while ${what} (acked ${p?.acked ?? 0}, waiting for ${target})`);
        if (Date.now() > deadline) throw new Error(`writer stuck at ${p?.acked ?? 0} records while ${what} (waited ${timeoutMs} ms)`);
        await sleep(50);
      }
    };

    try {
      let target = RECORDS_BETWEEN_KILLS;
      for (let round = 0; round < ROUNDS; round++) {
        const p = await waitAcked(target, 180_000, `waiting for ${target} records before kill ${round + 1}`);
        const srv = server as S3filesServer;
        await srv.kill();
        const r: KillRound = { ackedAtKill: p.acked, bulkAtKill: p.bulk_chunks };
        rounds.push(r);
        await sleep(DOWN_MS); // the client retries against a closed port meanwhile
        await srv.startAgain();
        const restarted = Date.now();
        target = p.acked + RECORDS_BETWEEN_KILLS;
        await waitAcked(target, 180_000, `waiting for the writer to resume after restart ${round + 1}`);
        r.resumedAfterMs = Date.now() - restarted;
        target += RECORDS_BETWEEN_KILLS;
      }
    } catch (err) {
      hostError = err as Error;
    } finally {
      writeFileSync(join(outDir, 'stop'), 'stop\n');
    }
    guest = await guestRun;
    progress = readProgress(progressPath);
    fetched = await fetchWithLibnfs(net, outDir);
    // eslint-disable-next-line no-console
    console.log(`    guest ${Math.round(guest.durationMs / 1000)} s; kills at ${rounds.map((r) => r.ackedAtKill).join(', ')} records;` +
      ` resumed after ${rounds.map((r) => r.resumedAfterMs ?? '-').join(', ')} ms; final ${progress?.acked} records,` +
      ` ${progress?.bulk_chunks} bulk chunks; stalls ${JSON.stringify(progress?.stalls ?? [])}`);
  });

  after(async () => {
    await server?.stop();
    await net?.destroy();
  });

  /** Copies the two files out through libnfs inside the namespace, after the guest unmounted. */
  async function fetchWithLibnfs(n: TestNetwork, dir: string): Promise<typeof fetched> {
    const url = (f: string): string =>
      `nfs://${n.hostIp}/${E2E_EXPORT}/${f}?version=3&nfsport=${E2E_PORT}&mountport=${E2E_PORT}`;
    try {
      const out: typeof fetched = {};
      for (const f of ['records.dat', 'bulk.dat'] as const) {
        const local = join(dir, `libnfs-${f}`);
        await n.execInNs('nfs-cp', [url(f), local], 120_000);
        out[f === 'records.dat' ? 'records' : 'bulk'] = readFileSync(local);
      }
      return out;
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  it(`the server was SIGKILLed and restarted ${ROUNDS} times mid-workload, and the writer resumed each time`, () => {
    assert.ok(!hostError, `${hostError?.message}\nserver log tail:\n${server?.logTail(20)}`);
    assert.strictEqual(rounds.length, ROUNDS);
    assert.strictEqual(server?.starts, ROUNDS + 1);
    for (const r of rounds) assert.ok(r.resumedAfterMs !== undefined, `writer did not resume after the kill at ${r.ackedAtKill}`);
  });

  it('the writer saw no error (no ESTALE/EIO) on its open files, held fd and cwd', () => {
    assert.ok(progress, 'no progress file from the writer');
    assert.deepStrictEqual(progress.errors, [], `writer errors: ${JSON.stringify(progress.errors)}`);
    assert.ok(progress.done && progress.ok, `writer did not finish cleanly: ${JSON.stringify(progress)}`);
    assertStep(guest, 'writer', server);
  });

  it('every fsync-acknowledged record is intact, read through a fresh client (libnfs)', () => {
    assert.ok(progress, 'no progress file');
    assert.ok(!fetched.error, `libnfs could not read the files back: ${fetched.error}`);
    const data = fetched.records as Buffer;
    const lastKill = Math.max(0, ...rounds.map((r) => r.ackedAtKill));
    assert.ok(data.length >= lastKill * RECORD, `only ${data.length / RECORD} records survived; ${lastKill} were acknowledged before the last kill`);
    for (let i = 0; i < progress.acked; i++) {
      const got = data.subarray(i * RECORD, (i + 1) * RECORD);
      if (!got.equals(expectedRecord(i))) {
        const killedBefore = rounds.filter((r) => i < r.ackedAtKill).length;
        assert.fail(`record ${i} of ${progress.acked} is ${got.length ? 'corrupt' : 'missing'} ` +
          `(acknowledged before ${killedBefore} of the kills); starts ${got.subarray(0, 20).toString('hex')}`);
      }
    }
    assert.strictEqual(data.length, progress.acked * RECORD, 'records file has extra bytes');
  });

  it('unstable writes outstanding at each kill were resent and committed (bulk file intact)', () => {
    assert.ok(progress, 'no progress file');
    assert.ok(!fetched.error, `libnfs could not read the files back: ${fetched.error}`);
    const data = fetched.bulk as Buffer;
    assert.strictEqual(data.length, progress.bulk_chunks * CHUNK, `bulk file is ${data.length} bytes, ${progress.bulk_chunks} chunks written`);
    for (let i = 0; i < progress.bulk_chunks; i++) {
      if (!data.subarray(i * CHUNK, (i + 1) * CHUNK).equals(expectedChunk(i))) {
        assert.fail(`bulk chunk ${i} of ${progress.bulk_chunks} differs (kills at chunks ${rounds.map((r) => r.bulkAtKill).join(', ')})`);
      }
    }
  });

  it('unmounts cleanly after the restarts', () => {
    assertStep(guest, 'umount', server);
  });
});
