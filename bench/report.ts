// Turns per-server measurements into the comparison table and the JSON results file.
import type { PhaseOpStats } from './client-op-stats';
import { BenchParams, Measurement, Unit, WORKLOADS } from './workloads';

export interface ServerRun {
  name: string;
  /** Every workload ran and verified. */
  ok: boolean;
  error?: string;
  /** The workload that was running when the guest failed or timed out. */
  failedWorkload?: string;
  durationMs?: number;
  workloads: Record<string, Measurement & { unit: Unit }>;
  /** The client's calls in the small-file phases (the last run's, when repeated). */
  opStats?: PhaseOpStats;
}

export interface Row {
  id: string;
  title: string;
  unit: Unit;
  /** Rate per server (MiB/s or ops/s); null where the server has no figure. */
  rates: Record<string, number | null>;
  /** first server / second server (> 1: the first is faster); null without both figures. */
  ratio: number | null;
}

export function buildRows(params: BenchParams, runs: ServerRun[]): Row[] {
  return WORKLOADS.map((w) => {
    const rates: Record<string, number | null> = {};
    for (const r of runs) rates[r.name] = r.workloads[w.id]?.rate ?? null;
    const [a, b] = runs.map((r) => rates[r.name] ?? null);
    const ratio = a !== null && a !== undefined && b !== null && b !== undefined && b > 0 ? a / b : null;
    return { id: w.id, title: w.title(params), unit: w.unit, rates, ratio };
  });
}

function cell(run: ServerRun, id: string, unit: Unit): string {
  const m = run.workloads[id];
  if (m) {
    const digits = m.rate >= 100 ? 0 : 1;
    return `${m.rate.toFixed(digits)} ${unit}${m.verified === false ? ' (BAD DATA)' : ''}`;
  }
  if (run.failedWorkload === id) return 'FAILED';
  return run.ok ? 'n/a' : '-';
}

/** A fixed-width table: workload | server A | server B | ratio. */
export function formatTable(rows: Row[], runs: ServerRun[]): string {
  const withRatio = runs.length === 2;
  const header = ['workload', ...runs.map((r) => r.name), ...(withRatio ? [`ratio ${runs[0]?.name}/${runs[1]?.name}`] : [])];
  const body = rows.map((row) => [
    row.title,
    ...runs.map((r) => cell(r, row.id, row.unit)),
    ...(withRatio ? [row.ratio === null ? '-' : row.ratio.toFixed(2)] : []),
  ]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((line) => (line[i] ?? '').length)));
  const fmt = (line: string[]): string => line.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('-+-');
  const lines = [fmt(header), rule, ...body.map(fmt)];
  for (const r of runs) {
    if (r.error) lines.push('', `${r.name}: ${r.error}`);
  }
  return lines.join('\n');
}

export function resultsJson(params: object, runs: ServerRun[], rows: Row[], env: object): object {
  return {
    timestamp: new Date().toISOString(),
    environment: env,
    params,
    servers: Object.fromEntries(runs.map((r) => [r.name, r])),
    rows,
  };
}
