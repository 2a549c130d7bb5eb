// The S3 latency benchmark: the workloads of a user's first hour with a bucket (read many small
// files, ls -lR, one big read, cp -r, mv of a directory) through s3files read by the real Linux
// NFS client (UML), side by side with rclone and s3fs (FUSE), each on its own shaped S3 link
// (test/support/shaped-link.ts: added first-byte latency, a bandwidth cap per connection, in
// front of a local Ceph RGW), and the SDK floor of each workload measured in the same run.
// See bench/README.md ("S3 latency").
//
//   npm run bench:s3 -- --quick                    # a few minutes
//   node dist/bench/s3-latency-bench.js --latency-ms 20 --servers s3files,rclone
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startCephRgw } from '../test/support/ceph-rgw';
import { floorClient } from '../test/support/sdk-floor';
import { TestNetwork, umlPrerequisites } from '../test/support/uml';
import { runColumn, type ColumnResult } from './s3-latency-column';
import { runFloors } from './s3-latency-floors';
import { PEERS, type PeerDef } from './s3-latency-peers';
import { formatRuns, type LatencyRun } from './s3-latency-report';
import { FULL_SIZES, QUICK_SIZES, seedMove, seedShared, WORKLOAD_IDS, type S3BenchSizes, type WorkloadId } from './s3-latency-workloads';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const REPO_ROOT = resolve(__dirname, __dirname.includes('/dist/') ? '../..' : '..');
const log = (m: string) => void process.stderr.write(`[bench:s3] ${m}\n`);

const SIZE_FLAGS: Record<string, keyof S3BenchSizes> = {
  'small-files': 'smallFiles', 'small-dirs': 'smallDirs', 'small-kib': 'smallKib', 'list-objects': 'listObjects',
  'list-dirs': 'listDirs', 'big-mib': 'bigMib', 'cp-files': 'cpFiles', 'cp-kib': 'cpKib', 'mv-objects': 'mvObjects',
};

function numberList(v: string, name: string): number[] {
  const xs = v.split(',').map((x) => Number(x.trim()));
  if (xs.some((x) => !Number.isFinite(x) || x < 0)) throw new Error(`--${name}: not a list of numbers: ${v}`);
  return xs;
}

function parseOptions(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      ...Object.fromEntries(Object.keys(SIZE_FLAGS).map((k) => [k, { type: 'string' as const }])),
      servers: { type: 'string', default: 's3files,rclone,s3fs' },
      'latency-ms': { type: 'string', default: '0,20' },
      'conn-mbps': { type: 'string', default: '25' },
      'total-mbps': { type: 'string', default: '0' },
      only: { type: 'string', default: WORKLOAD_IDS.join(',') },
      'timeout-s': { type: 'string' },
      'mem-mb': { type: 'string', default: '1024' },
      'nfs-port': { type: 'string', default: '20490' },
      's3files-arg': { type: 'string', multiple: true, default: [] },
      out: { type: 'string' },
    },
  });
  const sizes: S3BenchSizes = { ...(values.quick ? QUICK_SIZES : FULL_SIZES) };
  for (const [flag, key] of Object.entries(SIZE_FLAGS)) {
    const v = (values as Record<string, unknown>)[flag];
    if (typeof v !== 'string') continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${flag} must be a positive integer, got ${v}`);
    sizes[key] = n;
  }
  const only = new Set(values.only.split(',').map((s) => s.trim()) as WorkloadId[]);
  for (const id of only) if (!WORKLOAD_IDS.includes(id)) throw new Error(`--only: unknown workload ${id} (known: ${WORKLOAD_IDS.join(', ')})`);
  const servers = values.servers.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of servers) if (!PEERS[s]) throw new Error(`--servers: unknown ${s} (known: ${Object.keys(PEERS).join(', ')})`);
  const [connMBps] = numberList(values['conn-mbps'], 'conn-mbps');
  const [totalMBps] = numberList(values['total-mbps'], 'total-mbps');
  return {
    sizes, only, servers,
    latencies: numberList(values['latency-ms'], 'latency-ms'),
    connBytesPerSec: connMBps! * 1e6,
    totalBytesPerSec: totalMBps! * 1e6,
    timeoutMs: 1000 * Number(values['timeout-s'] ?? (values.quick ? 900 : 3600)),
    memMb: Number(values['mem-mb']),
    nfsPort: Number(values['nfs-port']),
    s3filesArgs: values['s3files-arg'],
    out: resolve(values.out ?? join(REPO_ROOT, 'bench', 'results', `s3-latency-${values.quick ? 'quick' : 'full'}.json`)),
  };
}

/** The peers that can run here; the others are named on stderr and left out of the table. */
function availablePeers(names: string[]): PeerDef[] {
  const out: PeerDef[] = [];
  for (const name of names) {
    const peer = PEERS[name]!;
    const missing = name === 's3files' ? umlPrerequisites().join('; ') || undefined : peer.missing();
    if (missing) log(`skipping ${name}: ${missing}`);
    else out.push(peer);
  }
  return out;
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const peers = availablePeers(o.servers);
  const s = o.sizes;
  // RGW keeps objects in RAM: the shared data, and what every column and floor writes.
  const writes = (o.latencies.length * (peers.length + 1) * (s.cpFiles * s.cpKib * 1024 + s.mvObjects * 1024)) / 2 ** 30;
  const dataGiB = (s.bigMib * 2 ** 20 + s.smallFiles * s.smallKib * 1024 + s.listObjects * 100) / 2 ** 30 + writes;
  process.env.S3FILES_RGW_MEMSTORE_GIB ??= String(Math.ceil(dataGiB * 1.5 + 1));
  const load = { before: loadavg()[0]!, after: 0 };
  if (load.before > cpus().length) log(`warning: load average ${load.before.toFixed(1)} on ${cpus().length} CPUs: times will be noisy`);
  const gw = await startCephRgw();
  const bucket = 'bench';
  const direct = floorClient({ endpoint: gw.endpoint, region: gw.region, accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey });
  let net: TestNetwork | undefined;
  const runs: LatencyRun[] = [];
  try {
    await gw.createBucket(bucket);
    const seed = await seedShared(direct, bucket, s, log);
    net = await TestNetwork.create();
    const cpSource = join(net.makeTempDir('cp-src'), 'src');
    mkdirSync(cpSource);
    for (let i = 0; i < s.cpFiles; i++) writeFileSync(join(cpSource, `f${String(i).padStart(6, '0')}.bin`), randomBytes(s.cpKib * 1024));
    for (const [round, latencyMs] of o.latencies.entries()) {
      const shape = { latencyMs, connBytesPerSec: o.connBytesPerSec, totalBytesPerSec: o.totalBytesPerSec };
      log(`${latencyMs} ms: SDK floors`);
      const floors = await runFloors({ gw, direct, bucket, sizes: s, only: o.only, ...shape });
      const columns: ColumnResult[] = [];
      // Alternate the order between latencies, so a drift in the machine's load hits all alike.
      for (const peer of round % 2 === 0 ? peers : [...peers].reverse()) {
        if (o.only.has('mv-dir')) await seedMove(direct, bucket, `${peer.name}-${latencyMs}`, s);
        const c = await runColumn(peer, {
          net, gw, direct, bucket, sizes: s, seed, cpSource, only: o.only, ...shape,
          nfsPort: o.nfsPort, timeoutMs: o.timeoutMs, memMb: o.memMb, extraServerArgs: o.s3filesArgs, log,
        });
        log(`${peer.name} at ${latencyMs} ms: ${c.ok ? 'ok' : `FAILED: ${c.error}`}`);
        columns.push(c);
      }
      columns.sort((a, b) => o.servers.indexOf(a.peer) - o.servers.indexOf(b.peer));
      runs.push({ ...shape, columns, floors });
    }
  } finally {
    direct.destroy();
    await net?.destroy();
    await gw.stop();
  }
  load.after = loadavg()[0]!;
  process.stdout.write(`\n${formatRuns(runs, s, o.only)}\n`);
  const env = { cpus: cpus().length, hostKernel: release(), node: process.version, loadAverage1m: load, rgwMemstoreGiB: Number(process.env.S3FILES_RGW_MEMSTORE_GIB) };
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, `${JSON.stringify({ date: new Date().toISOString(), env, sizes: s, workloads: [...o.only], runs }, null, 2)}\n`);
  process.stdout.write(`results written to ${o.out}\n`);
  return runs.every((r) => r.columns.every((c) => c.ok)) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`s3-latency-bench: ${err.stack ?? err.message}\n`);
    process.exit(2);
  },
);
