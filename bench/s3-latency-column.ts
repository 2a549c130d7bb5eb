// One column of the S3 latency benchmark: one file system (s3files, rclone or s3fs) on a fresh
// shaped link at one latency, every selected workload in one run of the workload script, and
// each workload's wall time and the link's counters over exactly that workload's window.
// The write workloads end when the bucket holds their result: the host watches the script's
// marks, polls the bucket directly (not through the link) and then lets the script go on.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { CephRgw } from '../test/support/ceph-rgw';
import { countsBetween, type InFlightStats, type LinkCounts } from '../test/support/link-meter';
import { startShapedLink } from '../test/support/shaped-link';
import { runGuest, type TestNetwork } from '../test/support/uml';
import type { PeerDef } from './s3-latency-peers';
import { layout, readMarks, WORKLOAD_IDS, workloadScript, type S3BenchSizes, type SharedSeed, type WorkloadId } from './s3-latency-workloads';

/** A workload starts once the link has been idle this long (or after MAX_SETTLE_MS regardless). */
const QUIET_MS = 1000;
const MAX_SETTLE_MS = 600_000;

export interface WorkloadResult {
  /** From the start mark to the end (for writes: until the bucket held everything). */
  wallMs: number;
  link: LinkCounts & InFlightStats;
  verified: boolean;
  /** Extra times, ms: cp's own time, mv's own time, the ls during the mv, the wait for a quiet link before. */
  detail: Record<string, number>;
}

export interface ColumnResult {
  peer: string;
  latencyMs: number;
  where: 'guest' | 'host';
  ok: boolean;
  error?: string;
  workloads: Partial<Record<WorkloadId, WorkloadResult>>;
}

export interface ColumnOptions {
  net: TestNetwork;
  gw: CephRgw;
  direct: S3Client;
  bucket: string;
  sizes: S3BenchSizes;
  seed: SharedSeed;
  cpSource: string;
  only: Set<WorkloadId>;
  latencyMs: number;
  connBytesPerSec: number;
  totalBytesPerSec: number;
  nfsPort: number;
  timeoutMs: number;
  memMb: number;
  extraServerArgs: string[];
  log: (m: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Epoch ms (the marks) → performance.now() ms (the link's clock). */
const toPerf = (epochMs: number) => epochMs - performance.timeOrigin;

export async function countKeys(client: S3Client, bucket: string, prefix: string): Promise<number> {
  let n = 0;
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    n += page.KeyCount ?? page.Contents?.length ?? 0;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return n;
}

/** Polls until `done()`; returns the epoch ms it first held, or undefined when `stop()` says so. */
async function pollUntil(done: () => Promise<boolean>, stop: () => boolean): Promise<number | undefined> {
  for (;;) {
    if (await done().catch(() => false)) return Date.now();
    if (stop()) return undefined;
    await sleep(200);
  }
}

/** Runs the script where the peer wants it; resolves with its exit status. */
async function runScript(o: ColumnOptions, where: 'guest' | 'host', script: string, outDir: string): Promise<{ code: number; log: string }> {
  if (where === 'guest') {
    const r = await runGuest(o.net, { script, timeoutMs: o.timeoutMs, outDir, memMb: o.memMb });
    return { code: r.exitCode, log: r.log };
  }
  const file = join(outDir, 'script.sh');
  writeFileSync(file, script);
  return new Promise((resolve) => {
    const child = spawn('sh', ['-e', file], { env: { ...process.env, OUT: outDir }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let log = '';
    child.stdout?.on('data', (c: Buffer) => void (log += c.toString()));
    child.stderr?.on('data', (c: Buffer) => void (log += c.toString()));
    const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), o.timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, log });
    });
  });
}

export async function runColumn(peer: PeerDef, o: ColumnOptions): Promise<ColumnResult> {
  if (peer.local) o = { ...o, only: new Set([...o.only].filter((id) => id === 'cp-r')) };
  const result: ColumnResult = { peer: peer.name, latencyMs: o.latencyMs, where: 'host', ok: false, workloads: {} };
  const workDir = o.net.makeTempDir(`${peer.name}-${o.latencyMs}ms`);
  const column = `${peer.name}-${o.latencyMs}`;
  const link = await startShapedLink({ target: o.gw.endpoint, latencyMs: o.latencyMs, connBytesPerSec: o.connBytesPerSec, totalBytesPerSec: o.totalBytesPerSec });
  let running;
  try {
    running = await peer.start({ net: o.net, link, gw: o.gw, bucket: o.bucket, workDir, nfsPort: o.nfsPort, extraServerArgs: o.extraServerArgs });
  } catch (err) {
    await link.close();
    result.error = `did not start: ${(err as Error).message}`;
    return result;
  }
  result.where = running.where;
  const outDir = o.net.makeTempDir(`${column}-out`);
  const script = workloadScript({ mnt: running.mnt, prelude: running.prelude, column, sizes: o.sizes, cpSource: o.cpSource, only: o.only, lsDelaySec: 0.5 });
  const doneAt: Record<string, number> = {};
  const settleMs: Record<string, number> = {};
  let finished = false;
  const marked = (name: string) => pollUntil(async () => readMarks(outDir).has(name), () => finished);
  // The host's half of the script: a quiet link before each workload, and for the writes the
  // bucket holding the result before the script goes on.
  const bucketDone: Partial<Record<WorkloadId, () => Promise<boolean>>> = {
    'cp-r': async () => (await countKeys(o.direct, o.bucket, layout.cpPrefix(column))) >= o.sizes.cpFiles,
    'mv-dir': async () =>
      (await countKeys(o.direct, o.bucket, `${layout.mvPrefix(column)}dst/`)) >= o.sizes.mvObjects &&
      (await countKeys(o.direct, o.bucket, `${layout.mvPrefix(column)}src/`)) === 0,
  };
  const watch = async () => {
    for (const id of WORKLOAD_IDS.filter((w) => o.only.has(w))) {
      if ((await marked(`${id}.ready`)) === undefined) return;
      const t0 = Date.now();
      await pollUntil(async () => link.meter.quietMs() >= QUIET_MS || Date.now() - t0 > MAX_SETTLE_MS, () => finished);
      settleMs[id] = Date.now() - t0;
      writeFileSync(join(outDir, `go-settle-${id}`), '');
      const done = bucketDone[id];
      if (!done) continue;
      if ((await marked(`${id}.${id === 'cp-r' ? 'copied' : 'moved'}`)) === undefined) return;
      // A local export has no bucket: the copy's own end is the end.
      const at = peer.local ? readMarks(outDir).get('cp-r.copied') : await pollUntil(done, () => finished);
      if (at === undefined) return;
      doneAt[id] = at;
      writeFileSync(join(outDir, `go-${id}`), '');
    }
  };
  o.log(`${column}: running (${running.where === 'guest' ? 'NFS in the UML guest' : 'FUSE on the host'})`);
  const watcher = watch();
  try {
    const r = await runScript(o, running.where, script, outDir);
    finished = true;
    await watcher;
    result.workloads = collect(o, outDir, doneAt, link.meter);
    // For a closer look (a timeline of requests against the script's marks), not for the table.
    const dump = process.env.S3FILES_BENCH_REQUEST_LOG;
    if (dump) {
      mkdirSync(dump, { recursive: true });
      const marks = Object.fromEntries([...readMarks(outDir)].map(([k, v]) => [k, toPerf(v)]));
      writeFileSync(join(dump, `${column}-requests.json`), JSON.stringify({ marks, epochMarks: Object.fromEntries(readMarks(outDir)), requests: link.meter.requestLog() }));
      if (existsSync(join(workDir, 'serve.log'))) copyFileSync(join(workDir, 'serve.log'), join(dump, `${column}-serve.log`));
    }
    for (const [id, ms] of Object.entries(settleMs)) {
      const w = result.workloads[id as WorkloadId];
      if (w) w.detail.settleMs = ms;
    }
    result.ok = r.code === 0 && Object.values(result.workloads).every((w) => w.verified);
    // The client's S3 traffic must all cross the link (endpoint = proxy), or the counts lie.
    const sent = Object.values(link.counts().requests).reduce((a, b) => a + b, 0);
    if (!peer.local && sent === 0) {
      result.ok = false;
      result.error = 'no request went through the shaped link: is the client pointed at it?';
    } else if (r.code !== 0) result.error = `script exit ${r.code}\n${r.log.trimEnd().split('\n').slice(-15).join('\n')}\n--- ${peer.name} ---\n${running.output()}`;
    else if (!result.ok) result.error = 'data read back differs from what was put';
  } finally {
    finished = true;
    await running.stop().catch(() => undefined);
    await link.close();
  }
  return result;
}

function fileText(outDir: string, name: string): string {
  const f = join(outDir, name);
  return existsSync(f) ? readFileSync(f, 'utf8').trim() : '';
}

function collect(o: ColumnOptions, outDir: string, doneAt: Record<string, number>, meter: Parameters<typeof countsBetween>[0]): Partial<Record<WorkloadId, WorkloadResult>> {
  const marks = readMarks(outDir);
  const out: Partial<Record<WorkloadId, WorkloadResult>> = {};
  const window = (id: WorkloadId, start: number | undefined, end: number | undefined, verified: boolean, detail: Record<string, number> = {}) => {
    if (start === undefined || end === undefined) return;
    out[id] = { wallMs: Math.round(end - start), link: countsBetween(meter, toPerf(start), toPerf(end)), verified, detail };
  };
  const m = (k: string) => marks.get(k);
  const s = o.sizes;
  window('read-small', m('read-small.start'), m('read-small.end'), fileText(outDir, 'read-small.md5') === o.seed.smallMd5, {
    againMs: fileText(outDir, 'read-small.again.md5') === o.seed.smallMd5 ? Math.round((m('read-small.again') ?? NaN) - (m('read-small.end') ?? NaN)) : NaN,
  });
  window('ls-lR', m('ls-lR.start'), m('ls-lR.end'), Number(fileText(outDir, 'ls-lR.count')) === s.listObjects);
  window('dd-big', m('dd-big.start'), m('dd-big.end'),
    fileText(outDir, 'dd-big.txt').includes(`${s.bigMib * 1024 * 1024} bytes`) && fileText(outDir, 'dd-big.md5') === o.seed.bigTailMd5);
  const cpStart = m('cp-r.start');
  window('cp-r', cpStart, doneAt['cp-r'], doneAt['cp-r'] !== undefined, { copyMs: Math.round((m('cp-r.copied') ?? NaN) - (cpStart ?? NaN)) });
  const mvStart = m('mv-dir.start');
  window('mv-dir', mvStart, doneAt['mv-dir'], doneAt['mv-dir'] !== undefined && fileText(outDir, 'mv-dir.other').split('\n').length === layout.otherKeys.length, {
    mvMs: Math.round((m('mv-dir.moved') ?? NaN) - (mvStart ?? NaN)),
    lsMs: Math.round((m('mv-dir.ls.end') ?? NaN) - (m('mv-dir.ls.start') ?? NaN)),
    lsEndedBeforeMoveDone: (m('mv-dir.ls.end') ?? Infinity) < (doneAt['mv-dir'] ?? 0) ? 1 : 0,
  });
  return out;
}
