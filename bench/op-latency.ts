// Per-operation latency of the small-file rows (create, stat, delete) through the kernel client,
// for each server: the distribution (p50, p90, p99, max) and how much of the phase went to
// operations that took over 3 ms. nfs-bench.ts gives rates and, from mountstats, mean round
// trips; this tells a server that is slower on every call from one that is fast on most and
// stalls on a few, which needs a different fix. Same servers and mount as nfs-bench.ts.
//
//   npx tsc -p . && node dist/bench/op-latency.js [--files 2000] [--repeat 2] [--servers s3files,ganesha]
//       [--s3files-arg=--local ...]
//
// See bench/README.md ("Per-operation latency").
import { execFileSync } from 'child_process';
import { join, resolve } from 'path';
import { parseArgs } from 'util';
import { ganeshaTarget, s3filesTarget, TargetDef } from './servers';
import { nfsMountCommand, runGuest, TestNetwork, umlPrerequisites } from '../test/support/uml';

const REPO_ROOT = resolve(__dirname, __dirname.includes('/dist/') ? '../..' : '..');
const PHASES = ['create', 'stat', 'unlink'] as const;

interface Row {
  server: string;
  phase: string;
  fields: Record<string, number>;
}

function guestScript(tool: string, mount: (mp: string) => string, files: number, label: string): string {
  const mp = '/mnt/oplat';
  return [
    `mkdir -p ${mp}`, mount(mp), `mkdir ${mp}/d`,
    `${tool} ${mp}/d ${files} ${label} create`,
    // A fresh mount: the stat phase starts with the client's caches cold, as in nfs-bench.
    `umount ${mp}`, mount(mp),
    `${tool} ${mp}/d ${files} ${label} stat`,
    `${tool} ${mp}/d ${files} ${label} unlink`,
    `rmdir ${mp}/d`, `umount ${mp}`,
  ].join('\n');
}

function parseRows(log: string): Row[] {
  const rows: Row[] = [];
  for (const line of log.split('\n')) {
    const m = /oplat (\S+) (\S+) (.*)$/.exec(line.trim());
    if (!m) continue;
    const fields: Record<string, number> = {};
    for (const kv of m[3]!.split(' ')) {
      const [k, v] = kv.split('=');
      if (k && v !== undefined) fields[k] = Number(v);
    }
    rows.push({ server: m[1]!, phase: m[2]!, fields });
  }
  return rows;
}

async function runOne(net: TestNetwork, target: TargetDef, tool: string, files: number): Promise<Row[]> {
  const running = await target.start(net);
  try {
    const mount = (mp: string): string => nfsMountCommand({ ...running.mount, mountPoint: mp });
    const r = await runGuest(net, { script: guestScript(tool, mount, files, target.name), timeoutMs: 600_000 });
    const rows = parseRows(r.log);
    if (r.exitCode !== 0 || rows.length !== PHASES.length) {
      throw new Error(`${target.name}: guest failed (exit ${r.exitCode}); log tail:\n${r.log.split('\n').slice(-30).join('\n')}`);
    }
    return rows;
  } finally {
    await running.stop();
  }
}

function format(rows: Row[]): string {
  const cols = ['mean', 'p50', 'p90', 'p99', 'max', 'stalls', 'stalled_pct'];
  const head = ['server', 'phase', ...cols.map((c) => (c === 'stalled_pct' ? '% time in >3ms' : c === 'stalls' ? '>3ms ops' : `${c} µs`))];
  const body = rows.map((r) => [r.server, r.phase, ...cols.map((c) => String(r.fields[c] ?? ''))]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-+-'), ...body.map(line)].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      files: { type: 'string', default: '2000' },
      repeat: { type: 'string', default: '1' },
      servers: { type: 'string', default: 's3files,ganesha' },
      's3files-port': { type: 'string', default: '20490' },
      's3files-arg': { type: 'string', multiple: true, default: [] },
    },
  });
  const files = Number(values.files);
  const repeat = Number(values.repeat);
  if (!Number.isInteger(files) || files <= 0 || !Number.isInteger(repeat) || repeat <= 0) throw new Error('--files and --repeat take positive integers');
  const missing = umlPrerequisites();
  if (missing.length > 0) {
    process.stderr.write(`cannot run, missing: ${missing.join('; ')}\n`);
    return 2;
  }
  const known: Record<string, TargetDef> = {
    s3files: s3filesTarget({ port: Number(values['s3files-port']), extraArgs: values['s3files-arg'] }),
    ganesha: ganeshaTarget(),
  };
  const targets = values.servers.split(',').map((s) => {
    const t = known[s];
    if (!t) throw new Error(`unknown server ${s}`);
    return t;
  });
  const net = await TestNetwork.create();
  const rows: Row[] = [];
  try {
    // The guest runs the host's binaries (hostfs), so the tool is built on the host.
    const tool = join(net.makeTempDir('tools'), 'op-latency');
    execFileSync('cc', ['-O2', '-o', tool, join(REPO_ROOT, 'bench', 'op-latency.c')], { stdio: ['ignore', 'ignore', 'inherit'] });
    for (let round = 0; round < repeat; round++) {
      // ABBA order, as in nfs-bench.ts.
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) {
        process.stderr.write(`[op-latency] round ${round + 1}: ${t.name}\n`);
        rows.push(...(await runOne(net, t, tool, files)));
      }
    }
  } finally {
    await net.destroy();
  }
  rows.sort((a, b) => PHASES.indexOf(a.phase as (typeof PHASES)[number]) - PHASES.indexOf(b.phase as (typeof PHASES)[number]) || a.server.localeCompare(b.server));
  process.stdout.write(`\n${format(rows)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
