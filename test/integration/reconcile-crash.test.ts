// kill -9 of a linked export, twice, on a real Ceph RGW: once in the middle of a write storm
// (test/support/linked-writer.fixture.ts, a child process), once while the restarted process
// is uploading what the first one queued. A third start (in this process) drains the queue,
// and then every acknowledged byte (stable writes and COMMITted unstable writes) must be in
// the bucket under the file's final name, renamed-away and removed names must be gone, and
// nothing else may be there but files whose creation was in flight at the kill.
import assert from 'node:assert/strict';
import { readAcks } from '../support/acks';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLinkedExport } from '../../pkg/reconcile';
import { S3Store } from '../../pkg/s3/s3-store';
import { skipS3, useSharedRgw, type CephRgw } from '../support/ceph-rgw';
import { bucketKeys, quietLog } from '../support/linked-fs';
import { BIG_CHUNK, CHUNK, pattern, type WriterConfig } from '../support/linked-writer.fixture';


interface Ack {
  op: string;
  fileNo?: number;
  name?: string;
  chunk?: number;
  chunks?: number;
  to?: string;
  big?: boolean;
}

/** Uploads that landed before a kill and were recognised as our own by a later process. */
let recoveredWrites = 0;

/** Runs the fixture, SIGKILLs it `killAfterMs` after its "open" ack, returns its acks. */
async function runUntilKilled(cfg: WriterConfig, killAfterMs: number, logFile: string): Promise<Ack[]> {
  const script = path.join(__dirname, '..', 'support', 'linked-writer.fixture.js');
  const child = spawn(process.execPath, [script, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acks: Ack[] = [];
  let stderr = '';
  let timer: NodeJS.Timeout | undefined;
  child.stderr.on('data', (c: Buffer) => {
    const text = c.toString();
    recoveredWrites += text.split('found our own unrecorded upload').length - 1;
    stderr += text;
    if (stderr.length > 1e6) stderr = stderr.slice(-1e5);
  });
  readAcks<Ack>(child.stdout, (a) => {
    acks.push(a);
    if (a.op === 'open') timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c, sig) => resolve(sig === 'SIGKILL' ? null : c)));
  clearTimeout(timer);
  // Its JSON log (uploads, recovery), for a post-mortem with S3FILES_KEEP_TMP=1.
  fs.writeFileSync(logFile, stderr);
  assert.equal(code, null, `the writer exited by itself (code ${code}): ${stderr}`);
  return acks;
}

interface FileModel {
  name: string;
  chunks: Set<number>;
  removed: boolean;
  big: boolean;
  renamedFrom?: string;
}

function model(acks: Ack[]): { files: Map<number, FileModel>; dirs: Set<string> } {
  const files = new Map<number, FileModel>();
  const dirs = new Set<string>();
  for (const a of acks) {
    const f = a.fileNo !== undefined ? files.get(a.fileNo) : undefined;
    if (a.op === 'create') files.set(a.fileNo!, { name: a.name!, chunks: new Set(), removed: false, big: a.fileNo === -1 });
    else if (a.op === 'write') f!.chunks.add(a.chunk!);
    else if (a.op === 'commit') for (let k = 0; k < a.chunks!; k++) f!.chunks.add(k);
    else if (a.op === 'rename') Object.assign(f!, { renamedFrom: f!.name, name: a.to! });
    else if (a.op === 'remove') f!.removed = true;
    else if (a.op === 'mkdir') dirs.add(a.name!);
  }
  return { files, dirs };
}

/**
 * What the writer was doing to `fileNo` when it was killed, going by the fixture's fixed
 * schedule: worker file n is renamed after its data (n % 4 === 3), and file n - 1 is removed
 * after file n's data and rename (n % 6 === 5). Only a worker's newest file (or the one before,
 * for a removal) can have an operation in flight.
 */
function inFlightAtKill(m: { files: Map<number, FileModel> }, fileNo: number): 'rename' | 'remove' | undefined {
  if (fileNo < 0) return undefined;
  const n = fileNo % 1_000_000;
  const f = m.files.get(fileNo);
  const next = m.files.get(fileNo + 1);
  if (f && !f.renamedFrom && n % 4 === 3 && !next) return 'rename';
  // The removal of file n follows file n + 1's data (1 + (n + 1) % 5 chunks) and its rename.
  const nextDone = next !== undefined && next.chunks.size === 1 + ((n + 1) % 5) && ((n + 1) % 4 !== 3 || next.renamedFrom !== undefined);
  if (f && !f.removed && nextDone && !m.files.has(fileNo + 2) && (n + 1) % 6 === 5) return 'remove';
  return undefined;
}

(skipS3() ? describe.skip : describe)('reconciler: kill -9 during a write storm and during its sync (Ceph RGW)', function () {
  this.timeout(300_000);
  const rgw = useSharedRgw();
  let gw: CephRgw;
  let tmp: string;
  const bucket = `crash-${Date.now().toString(36)}`;

  before(async () => {
    gw = await rgw();
    await gw.createBucket(bucket);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's3files-crash-'));
  });
  after(() => {
    if (process.env.S3FILES_KEEP_TMP) console.log(`      (kept ${tmp})`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('every acknowledged byte reaches the bucket under its final name', async () => {
    const cfg: WriterConfig = {
      mode: 'storm', cacheDir: path.join(tmp, 'cache'), endpoint: gw.endpoint, bucket, prefix: 'vol/',
      accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey, region: gw.region,
    };
    const stormMs = 2500 + Math.floor(Math.random() * 1500);
    const acks = await runUntilKilled(cfg, stormMs, path.join(tmp, 'storm.log'));
    const m = model(acks);
    const acked = acks.filter((a) => a.op !== 'open').length;
    assert.ok(acked > 50, `only ${acked} operations acknowledged before the kill`);
    // Restarts killed while they upload what was queued: uploads that land unrecorded.
    for (const ms of [150, 300, 500]) await runUntilKilled({ ...cfg, mode: 'sync-only' }, ms, path.join(tmp, `sync-only-${ms}.log`));

    const store = new S3Store({
      bucket, endpoint: gw.endpoint, region: gw.region, forcePathStyle: true,
      credentials: { accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey },
    });
    try {
      await store.detectCapabilities();
      const ex = await openLinkedExport({ cacheDir: cfg.cacheDir, store, prefix: 'vol/', linkId: 'crash-test:vol/', syncDelayMs: 50, logger: quietLog });
      await ex.reconciler.drain(120_000);
      // An upload that landed before a kill is our own, never a conflict.
      assert.equal(ex.reconciler.ctx.stats.conflicts, 0, 'conflicts after the restarts');
      const lost = await ex.fs.lookup({ uid: 0, gid: 0, gids: [] }, ex.fs.rootIno, '.s3files-lost+found').then(() => true, () => false);
      assert.equal(lost, false, 'something was moved to lost+found');
      await ex.close();

      const keys = await bucketKeys(store, 'vol/');
      const expected = new Set<string>(['work/', ...Array.from(m.dirs, (d) => `work/${d}/`)]);
      let checkedBytes = 0;
      for (const [fileNo, f] of m.files) {
        let key = `work/${f.name}`;
        // The operation in flight at the kill (done by the server, never acknowledged) may be
        // this file's rename or its removal (linked-writer.fixture.ts's schedule).
        if (!keys.has(key) && inFlightAtKill(m, fileNo) === 'rename' && keys.has(`${key}.renamed`)) key = `${key}.renamed`;
        if (!keys.has(key) && inFlightAtKill(m, fileNo) === 'remove') continue;
        if (f.renamedFrom) assert.ok(!keys.has(`work/${f.renamedFrom}`), `${f.renamedFrom} was renamed to ${f.name} but is still in the bucket`);
        if (f.removed) {
          assert.ok(!keys.has(key), `${key} was removed but is still in the bucket`);
          continue;
        }
        expected.add(key);
        assert.ok(keys.has(key), `${key} is missing from the bucket (acked chunks ${Array.from(f.chunks).join(',')}; keys like it: ${Array.from(keys.keys()).filter((k) => k.startsWith(key)).join(' ') || 'none'})`);
        if (f.chunks.size === 0) continue;
        const body = (await store.getBuffer(`vol/${key}`)).data;
        const size = f.big ? BIG_CHUNK : CHUNK;
        for (const k of f.chunks) {
          const got = body.subarray(k * size, (k + 1) * size);
          assert.ok(got.equals(pattern(fileNo, k, size)), `${key}: acknowledged chunk ${k} differs in the bucket (object ${body.length} bytes)`);
          checkedBytes += size;
        }
      }
      // Only files and directories whose creation was in flight at a kill (done by the server,
      // never acknowledged to the writer) may be there besides.
      const extra = Array.from(keys.keys()).filter((k) => !expected.has(k));
      const inFlight = extra.filter(
        (k) => (/^work\/f\d+$/.test(k) && !m.files.has(Number(k.slice(6)))) || (/^work\/d\d+\/$/.test(k) && !m.dirs.has(k.slice(5, -1))),
      );
      assert.deepEqual(extra, inFlight, `unexpected keys: ${extra.join(' ')}`);
      const recovered = recoveredWrites + ex.reconciler.ctx.stats.ownWritesRecovered;
      console.log(`      (${acked} operations acknowledged in ${stormMs} ms; ${m.files.size} files, ${(checkedBytes / 1048576).toFixed(1)} MiB of acknowledged data checked in the bucket; ${recovered} unrecorded uploads recognised after kills)`);
    } finally {
      store.destroy();
    }
  });
});
