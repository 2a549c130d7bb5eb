// One server's run of every workload in one guest boot, and the median over repeated runs.
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { nfsMountCommand, runGuest, TestNetwork } from '../test/support/uml';
import { readPhaseOpStats } from './client-op-stats';
import { ServerRun } from './report';
import { TargetDef } from './servers';
import { BenchParams, benchScript, Measurement, parseResults, Unit, WORKLOADS } from './workloads';

export interface RunOptions {
  params: BenchParams;
  memMb: number;
  timeoutMs: number;
  mountOptions: string[];
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Starts one server, runs every workload against it in one guest boot, stops it. Never throws. */
export async function runTarget(net: TestNetwork, target: TargetDef, o: RunOptions): Promise<ServerRun> {
  const run: ServerRun = { name: target.name, ok: false, workloads: {} };
  const log = (msg: string): void => void process.stderr.write(`[bench] ${target.name}: ${msg}\n`);
  let running;
  try {
    log('starting server');
    running = await target.start(net);
  } catch (err) {
    run.error = `server did not start: ${tail((err as Error).message, 15)}`;
    log(run.error);
    return run;
  }
  try {
    const mount = nfsMountCommand({ ...running.mount, mountPoint: '$OUT/mnt', options: o.mountOptions });
    log(`guest running workloads (timeout ${o.timeoutMs / 1000} s)`);
    const r = await runGuest(net, { script: benchScript(mount, o.params), timeoutMs: o.timeoutMs, memMb: o.memMb });
    run.durationMs = r.durationMs;
    run.opStats = readPhaseOpStats(r.outDir);
    const resultsFile = join(r.outDir, 'results.txt');
    const measured = parseResults(existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '');
    for (const [id, m] of measured) {
      const unit = WORKLOADS.find((w) => w.id === id)?.unit ?? 'ops/s';
      run.workloads[id] = { ...m, unit };
    }
    const bad = [...measured.values()].filter((m) => m.verified === false).map((m) => m.id);
    if (r.exitCode !== 0) {
      const current = join(r.outDir, 'current');
      run.failedWorkload = existsSync(current) ? readFileSync(current, 'utf8').trim() : undefined;
      const why = r.timedOut ? `timed out after ${o.timeoutMs / 1000} s` : `exit status ${r.exitCode}`;
      run.error = `guest failed (${why}) during ${run.failedWorkload ?? 'setup'}\n` +
        `--- guest console (tail) ---\n${tail(r.log, 25)}\n--- server output (tail) ---\n${tail(running.output(), 15)}`;
    } else if (bad.length > 0) {
      run.error = `data read back differs from data written: ${bad.join(', ')}`;
    } else {
      run.ok = true;
    }
    log(run.ok ? `done in ${(r.durationMs / 1000).toFixed(1)} s` : run.error ?? 'failed');
  } catch (err) {
    run.error = `harness error: ${(err as Error).message}`;
  } finally {
    await running.stop().catch(() => undefined);
  }
  return run;
}


function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Folds repeated runs of one server: the median rate per workload, every sample kept. */
export function combineRuns(name: string, runs: ServerRun[]): ServerRun {
  if (runs.length === 1) return runs[0] as ServerRun;
  const out: ServerRun = { name, ok: runs.every((r) => r.ok), workloads: {} };
  const failed = runs.find((r) => !r.ok);
  if (failed) {
    out.error = `run ${runs.indexOf(failed) + 1} of ${runs.length}: ${failed.error ?? 'failed'}`;
    out.failedWorkload = failed.failedWorkload;
  }
  out.durationMs = runs.reduce((a, r) => a + (r.durationMs ?? 0), 0);
  out.opStats = runs[runs.length - 1]?.opStats;
  for (const w of WORKLOADS) {
    const ms = runs.map((r) => r.workloads[w.id]).filter((m): m is Measurement & { unit: Unit } => m !== undefined);
    if (ms.length === 0) continue;
    const rate = median(ms.map((m) => m.rate));
    const closest = ms.reduce((a, b) => (Math.abs(b.rate - rate) < Math.abs(a.rate - rate) ? b : a));
    out.workloads[w.id] = {
      ...closest,
      rate,
      samples: ms.map((m) => m.rate),
      verified: ms.every((m) => m.verified !== false),
    };
  }
  return out;
}
