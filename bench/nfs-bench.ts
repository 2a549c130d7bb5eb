// NFS benchmark through the real Linux kernel client (User-Mode Linux): s3files and nfs-ganesha
// side by side in one run, same guest kernel, same workloads. See bench/README.md.
//
//   npm run bench                                  # full size
//   node dist/bench/nfs-bench.js --size-mib 32 --files 200 --rand-ops 500 --direct-ops 100
import { execFileSync } from 'child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { cpus, loadavg, release, totalmem } from 'os';
import { dirname, join, resolve } from 'path';
import { parseArgs } from 'util';
import { guestModules, TestNetwork, umlPrerequisites } from '../test/support/uml';
import { formatOpStats } from './client-op-stats';
import { buildRows, formatTable, resultsJson, ServerRun } from './report';
import { combineRuns, RunOptions, runTarget } from './run-target';
import { ganeshaTarget, s3filesTarget, TargetDef } from './servers';

const REPO_ROOT = resolve(__dirname, __dirname.includes('/dist/') ? '../..' : '..');

interface Options extends RunOptions {
  out: string;
  servers: string[];
  targets: TargetDef[];
  repeat: number;
}

function int(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return n;
}

/**
 * Compiles bench/randwrite.c for the guest (static if libc.a is there; the guest runs the
 * host's binaries either way). Returns undefined, with the reason on stderr, without a compiler.
 */
function buildRandwrite(dir: string): string | undefined {
  const src = join(REPO_ROOT, 'bench', 'randwrite.c');
  const out = join(dir, 'randwrite');
  for (const extra of [['-static'], []]) {
    try {
      execFileSync('cc', ['-O2', ...extra, '-o', out, src], { stdio: ['ignore', 'ignore', 'pipe'] });
      return out;
    } catch (err) {
      if (extra.length === 0) {
        process.stderr.write(`[bench] cannot compile ${src} (apt-get install gcc libc6-dev): ` +
          `${(err as Error).message.split('\n')[0]}; random-write workloads skipped\n`);
      }
    }
  }
  return undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      'size-mib': { type: 'string' },
      files: { type: 'string' },
      'rand-ops': { type: 'string' },
      'direct-ops': { type: 'string' },
      'rand-file-mib': { type: 'string' },
      servers: { type: 'string', default: 's3files,ganesha' },
      'mem-mb': { type: 'string' },
      repeat: { type: 'string' },
      'timeout-s': { type: 'string' },
      out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'latest.json') },
      's3files-bin': { type: 'string' },
      's3files-port': { type: 'string', default: '20490' },
      's3files-arg': { type: 'string', multiple: true, default: [] },
      'mount-option': { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${readFileSync(join(REPO_ROOT, 'bench', 'README.md'), 'utf8')}\n`);
    process.exit(0);
  }
  const params: RunOptions['params'] = {
    sizeMib: int(values['size-mib'], 'size-mib', 256),
    files: int(values.files, 'files', 2000),
    randOps: int(values['rand-ops'], 'rand-ops', 4000),
    directOps: int(values['direct-ops'], 'direct-ops', 1000),
    randFileMib: int(values['rand-file-mib'], 'rand-file-mib', 64),
  };
  const memMb = int(values['mem-mb'], 'mem-mb', Math.max(1024, 2 * params.sizeMib + 512));
  const defaultTimeoutS = Math.ceil(180 + 2 * params.sizeMib + 0.05 * params.files +
    0.02 * (params.randOps + params.directOps) + params.randFileMib);
  const servers = values.servers.split(',').map((s) => s.trim()).filter(Boolean);
  const known: Record<string, TargetDef> = {
    s3files: s3filesTarget({
      bin: values['s3files-bin'], port: int(values['s3files-port'], 's3files-port', 20490),
      extraArgs: values['s3files-arg'],
    }),
    ganesha: ganeshaTarget(),
  };
  const targets = servers.map((s) => {
    const t = known[s];
    if (!t) throw new Error(`unknown server ${s} (known: ${Object.keys(known).join(', ')})`);
    return t;
  });
  return {
    params, memMb, targets, servers, out: resolve(values.out), mountOptions: values['mount-option'],
    repeat: int(values.repeat, 'repeat', 1),
    timeoutMs: 1000 * int(values['timeout-s'], 'timeout-s', defaultTimeoutS),
  };
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const missing = umlPrerequisites();
  if (missing.length > 0) {
    process.stderr.write(`cannot run the benchmark, missing: ${missing.join('; ')}\n`);
    return 2;
  }
  const net = await TestNetwork.create();
  o.params.randwriteTool = buildRandwrite(net.makeTempDir('tools'));
  const onSignal = (): void => {
    net.destroySync();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const load = { before: loadavg()[0] ?? 0, after: 0 };
  if (load.before > cpus().length) {
    process.stderr.write(`[bench] warning: load average ${load.before.toFixed(1)} on ${cpus().length} CPUs; ` +
      'figures will be noisy (use --repeat)\n');
  }
  const perServer = new Map<string, ServerRun[]>(o.targets.map((t) => [t.name, []]));
  try {
    for (let round = 0; round < o.repeat; round++) {
      // ABBA order, so a drift in machine load hits every server alike.
      const order = round % 2 === 0 ? o.targets : [...o.targets].reverse();
      for (const target of order) perServer.get(target.name)?.push(await runTarget(net, target, o));
    }
  } finally {
    await net.destroy();
  }
  load.after = loadavg()[0] ?? 0;
  const runs = o.targets.map((t) => combineRuns(t.name, perServer.get(t.name) ?? []));
  const rows = buildRows(o.params, runs);
  process.stdout.write(`\n${formatTable(rows, runs)}\n\n${formatOpStats(runs)}\n`);
  const env = {
    cpus: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30), hostKernel: release(),
    umlKernel: guestModules().version, guestMemMb: o.memMb, mountOptions: o.mountOptions,
    repeat: o.repeat, loadAverage1m: load,
  };
  mkdirSync(dirname(o.out), { recursive: true });
  const { randwriteTool, ...params } = o.params;
  const json = resultsJson({ ...params, memMb: o.memMb, randomWrites: randwriteTool !== undefined }, runs, rows, env);
  writeFileSync(o.out, `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(`\nresults written to ${o.out}\n`);
  return runs.every((r) => r.ok) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`nfs-bench: ${err.message}\n`);
    process.exit(2);
  },
);
