// Per-call cost of the NFS server, without the kernel client: `s3files serve` runs as a child
// process (as in production and in bench/nfs-bench.ts) and this process drives it over
// loopback TCP with a lean pipelined client (rpc-bench-client.ts), at concurrency 1 (latency)
// and N (throughput: N calls in flight on one connection, as the Linux client pipelines).
//
//   npx tsc -p . --noEmitOnError false && node dist/bench/rpc-bench.js
//   node dist/bench/rpc-bench.js --seconds 3 --repeat 3 --only lookup-hit,getattr
//   node dist/bench/rpc-bench.js --prof /tmp/prof   # server CPU profile (node --cpu-prof)
//   node dist/bench/rpc-bench.js --trace            # S3FILES_TRACE=nfs-calls: per-call server log
//   node dist/bench/rpc-bench.js --s3files-bin /tmp/old/bin/s3files   # another build, for before/after
//
// See bench/README.md ("Per-call cost") for what each row does and the figures.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, S3filesServer } from '../test/support/s3files-server';
import { BenchRpcClient } from './rpc-bench-client';
import { args, createLike, listPlus, lookup, mount, NFS, NFS3ERR_NOENT, P, status } from './rpc-bench-nfs';

interface Ctx {
  c: BenchRpcClient;
  root: Buffer;
  dir: Buffer;
  file: Buffer;
  files: number;
  /** Per-run unique suffix for names created by the bench. */
  tag: string;
  /** For the server CPU columns; unknown for a server given by --connect without --server-pid. */
  serverPid: number | undefined;
}

interface Workload {
  id: string;
  title: string;
  /** Runs one operation; resolves with the number of RPCs it made. */
  op(ctx: Ctx, i: number): Promise<number>;
}

const BLOCK = Buffer.alloc(4096, 0x61);

const WORKLOADS: Workload[] = [
  { id: 'null', title: 'NULL', op: async (x) => (await x.c.call(NFS, 3, P.NULL, Buffer.alloc(0)), 1) },
  {
    id: 'getattr',
    title: 'GETATTR',
    op: async (x) => (status(await x.c.call(NFS, 3, P.GETATTR, args.fh(x.file)), 'GETATTR'), 1),
  },
  {
    id: 'lookup-hit',
    title: 'LOOKUP (hit)',
    op: async (x, i) => (status(await x.c.call(NFS, 3, P.LOOKUP, args.dirop(x.dir, `f${i % x.files}`)), 'LOOKUP'), 1),
  },
  {
    id: 'lookup-miss',
    title: 'LOOKUP (miss, NOENT)',
    op: async (x, i) => (status(await x.c.call(NFS, 3, P.LOOKUP, args.dirop(x.dir, `missing${i}`)), 'LOOKUP', [NFS3ERR_NOENT]), 1),
  },
  {
    id: 'access',
    title: 'ACCESS',
    op: async (x) => (status(await x.c.call(NFS, 3, P.ACCESS, args.access(x.file, 0x3f)), 'ACCESS'), 1),
  },
  {
    id: 'write-4k',
    title: 'WRITE 4 KiB UNSTABLE',
    op: async (x, i) => (status(await x.c.call(NFS, 3, P.WRITE, args.write(x.file, (i % 256) * 4096, BLOCK)), 'WRITE'), 1),
  },
  {
    id: 'create-remove',
    title: 'CREATE + REMOVE (2 calls)',
    op: async (x, i) => {
      const name = `cr-${x.tag}-${i}`;
      await createLike(x.c, P.CREATE, args.create(x.dir, name), 'CREATE');
      status(await x.c.call(NFS, 3, P.REMOVE, args.dirop(x.dir, name)), 'REMOVE');
      return 2;
    },
  },
  {
    id: 'readdirplus',
    title: 'READDIRPLUS, whole dir, 32 KiB pages',
    op: async (x) => {
      const [entries, calls] = await listPlus(x.c, x.dir, 32768);
      // The files plus '.' and '..'.
      if (entries !== x.files + 2) throw new Error(`READDIRPLUS listed ${entries} entries, expected ${x.files + 2}`);
      return calls;
    },
  },
];

interface Cell {
  concurrency: number;
  ops: number;
  calls: number;
  seconds: number;
  callsPerSecond: number;
  /** Mean latency of one RPC as the client saw it (an op's latency / its calls). */
  meanMicros: number;
  p99Micros: number;
  /** The server process's CPU time (user + system) per RPC. */
  serverCpuMicros: number;
  /** Of which in the kernel (system time): socket I/O, epoll, wake-ups. */
  serverSysMicros: number;
}

/** CPU seconds a process has used so far in user and in system mode, from /proc/PID/stat. */
function cpuSeconds(pid: number | undefined): { user: number; sys: number } {
  if (pid === undefined) return { user: NaN, sys: NaN };
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
  return { user: Number(fields[11]) / CLOCK_TICKS, sys: Number(fields[12]) / CLOCK_TICKS };
}
const CLOCK_TICKS = 100;

/** Runs `w` for `seconds` with `concurrency` operations in flight. */
async function measure(ctx: Ctx, w: Workload, concurrency: number, seconds: number): Promise<Cell> {
  const cpuBefore = cpuSeconds(ctx.serverPid);
  let next = 0;
  let calls = 0;
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      const n = await w.op(ctx, i);
      latencies.push((performance.now() - t0) / n);
      calls += n;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = cpuSeconds(ctx.serverPid);
  const serverSys = cpuAfter.sys - cpuBefore.sys;
  const serverCpu = cpuAfter.user - cpuBefore.user + serverSys;
  latencies.sort((a, b) => a - b);
  const mean = latencies.reduce((s, v) => s + v, 0) / Math.max(1, latencies.length);
  return {
    concurrency,
    ops: latencies.length,
    calls,
    seconds: elapsed,
    callsPerSecond: calls / elapsed,
    meanMicros: mean * 1000,
    p99Micros: (latencies[Math.floor(latencies.length * 0.99)] ?? 0) * 1000,
    serverCpuMicros: (serverCpu / Math.max(1, calls)) * 1e6,
    serverSysMicros: (serverSys / Math.max(1, calls)) * 1e6,
  };
}

async function setup(c: BenchRpcClient, root: Buffer, files: number, serverPid: number | undefined): Promise<Ctx> {
  const tag = `${process.pid}-${Date.now()}`;
  const dir = await createLike(c, P.MKDIR, args.mkdir(root, `rb-${tag}`), 'MKDIR');
  for (let i = 0; i < files; i += 64) {
    const batch = Array.from({ length: Math.min(64, files - i) }, (_, k) => createLike(c, P.CREATE, args.create(dir, `f${i + k}`), 'CREATE'));
    await Promise.all(batch);
  }
  const file = await lookup(c, dir, 'f0');
  return { c, root, dir, file, files, tag, serverPid };
}

/** The sample with the median rate (the whole cell, so its columns belong together). */
function medianCell(samples: Cell[]): Cell {
  const s = [...samples].sort((a, b) => a.callsPerSecond - b.callsPerSecond);
  return s[Math.floor(s.length / 2)]!;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function formatTable(rows: Array<{ title: string; cells: Cell[] }>, levels: number[]): string {
  const fmt = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  const header = ['workload', ...levels.flatMap((c) => [`c=${c} calls/s`, `c=${c} µs/call`, `c=${c} server CPU µs/call (sys)`])];
  const lines = rows.map((r) => [
    r.title,
    ...r.cells.flatMap((cell) => [
      fmt(cell.callsPerSecond),
      fmt(cell.meanMicros),
      `${fmt(cell.serverCpuMicros)} (${fmt(cell.serverSysMicros)})`,
    ]),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const row = (cols: string[]): string => `| ${cols.map((col, i) => pad(col, widths[i]!)).join(' | ')} |`;
  return [row(header), row(widths.map((w) => '-'.repeat(w))), ...lines.map(row)].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '2' },
      concurrency: { type: 'string', default: '1,16' },
      files: { type: 'string', default: '2000' },
      repeat: { type: 'string', default: '1' },
      only: { type: 'string' },
      prof: { type: 'string' },
      trace: { type: 'boolean', default: false },
      'server-arg': { type: 'string', multiple: true, default: [] },
      // Another build of s3files (e.g. a checkout of an older commit), for before/after runs.
      's3files-bin': { type: 'string' },
      // Or a server already running (e.g. nfs-ganesha, see rpc-bench-ganesha.sh).
      connect: { type: 'string' },
      export: { type: 'string' },
      'server-pid': { type: 'string' },
      // (results/**/latest.json is ignored by git)
      out: { type: 'string', default: path.join(__dirname, '..', '..', 'bench', 'results', 'rpc', 'latest.json') },
    },
  });
  const seconds = Number(values.seconds);
  const levels = values.concurrency.split(',').map(Number);
  const files = Number(values.files);
  const repeat = Number(values.repeat);
  const only = values.only ? new Set(values.only.split(',')) : undefined;
  const workloads = WORKLOADS.filter((w) => !only || only.has(w.id));

  const target = values.connect ? externalTarget(values.connect, values.export, values['server-pid']) : await startS3files(values);
  const c = await BenchRpcClient.connect(target.host, target.nfsPort);
  const m = target.mountPort === target.nfsPort ? c : await BenchRpcClient.connect(target.host, target.mountPort);
  try {
    const root = await mount(m, target.exportPath);
    const ctx = await setup(c, root, files, target.pid);
    const rows: Array<{ title: string; id: string; cells: Cell[]; samples: Cell[][] }> = [];
    for (const w of workloads) {
      await measure(ctx, w, levels[levels.length - 1] ?? 1, Math.min(0.5, seconds)); // warm-up
      const samples: Cell[][] = [];
      for (let k = 0; k < repeat; k++) {
        const sample: Cell[] = [];
        for (const level of levels) sample.push(await measure(ctx, w, level, seconds));
        samples.push(sample);
      }
      const cells = levels.map((_, li) => medianCell(samples.map((s) => s[li]!)));
      rows.push({ title: w.title, id: w.id, cells, samples });
      process.stderr.write(`${w.id}: ${cells.map((cell) => `c=${cell.concurrency} ${cell.callsPerSecond.toFixed(0)}/s`).join(', ')}\n`);
    }
    console.log(formatTable(rows, levels));
    console.log(`\n${target.name}; ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(2)}, ${seconds} s per cell, median of ${repeat}`);
    fs.mkdirSync(path.dirname(values.out), { recursive: true });
    fs.writeFileSync(values.out, JSON.stringify({ date: new Date().toISOString(), loadAverage1m: os.loadavg()[0], seconds, files, repeat, rows }, null, 2));
    return 0;
  } finally {
    c.close();
    m.close();
    await target.stop();
  }
}

interface Target {
  name: string;
  host: string;
  nfsPort: number;
  mountPort: number;
  exportPath: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/** `s3files serve` as a child process on a free loopback port, with a fresh cache directory. */
async function startS3files(values: { prof?: string; trace?: boolean; 'server-arg': string[]; 's3files-bin'?: string }): Promise<Target> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rpc-bench-'));
  const env: NodeJS.ProcessEnv = {};
  // --cpu-prof is refused in NODE_OPTIONS: put it on the server's node command line.
  const nodeFlags = values.prof ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values.prof)}`] : [];
  if (values.trace) env.S3FILES_TRACE = 'nfs-calls';
  const port = await freePort();
  const server = await S3filesServer.start({
    cacheDir: path.join(tmp, 'cache'),
    host: '127.0.0.1',
    port,
    exports: ['bench'],
    // Keep the reconciler quiet while measuring: uploads of the bench's files to the embedded
    // object store would otherwise share the server's CPU with the calls being timed.
    extraArgs: ['--sync-delay', '1h', ...values['server-arg']],
    logFile: path.join(tmp, 'serve.log'),
    env,
    spawner: (command, argv, options) => {
      const [script, ...rest] = argv;
      return spawn(command, [...nodeFlags, values['s3files-bin'] ?? script!, ...rest], options);
    },
  });
  return {
    name: `s3files (${values['s3files-bin'] ?? 'this tree'}), server log ${path.join(tmp, 'serve.log')}`,
    host: '127.0.0.1',
    nfsPort: port,
    mountPort: port,
    exportPath: '/bench',
    pid: server.pid,
    stop: async () => void (await server.stop()),
  };
}

/** A server someone else started: --connect HOST:NFSPORT[:MOUNTPORT] --export PATH [--server-pid N]. */
function externalTarget(connect: string, exportPath: string | undefined, pid: string | undefined): Target {
  const [host, nfsPort, mountPort] = connect.split(':');
  if (!host || !nfsPort || !exportPath) throw new Error('--connect HOST:NFSPORT[:MOUNTPORT] needs --export PATH');
  return {
    name: `${connect} ${exportPath}`,
    host,
    nfsPort: Number(nfsPort),
    mountPort: Number(mountPort ?? nfsPort),
    exportPath,
    pid: pid === undefined ? undefined : Number(pid),
    stop: async () => undefined,
  };
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
