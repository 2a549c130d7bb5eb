// What the guest's NFS client itself saw during the small-file phases: how many calls of each
// procedure it sent and their mean round trip, from /proc/self/mountstats snapshots taken at the
// start and end of each phase (workloads.ts `opstats`). Two servers can take the same workload
// through different call sequences (extra LOOKUPs or GETATTRs after a reply the client did not
// trust), which no server-side trace shows; this table does.
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';

/** One procedure over one phase. */
export interface OpStat {
  calls: number;
  /** Mean time from sending the request to receiving the reply, ms. */
  rttMs: number;
  /** Mean time from the call's start (queueing included) to its end, ms. */
  execMs: number;
}

/** phase → procedure → stats. */
export type PhaseOpStats = Record<string, Record<string, OpStat>>;

interface RawOp {
  ops: number;
  rtt: number;
  exec: number;
}

export const OP_STAT_PHASES = ['create', 'stat', 'delete'] as const;

/**
 * The per-op block of the first NFS mount in a mountstats file:
 * `NAME: ops trans timeouts bytes_sent bytes_recv queue_ms rtt_ms execute_ms [errors]`.
 */
export function parseMountStats(text: string): Map<string, RawOp> {
  const out = new Map<string, RawOp>();
  const start = text.indexOf('per-op statistics');
  if (start < 0) return out;
  for (const line of text.slice(start).split('\n').slice(1)) {
    const m = /^\s*([A-Z_]+):\s+(\d+(?:\s+\d+){7,})\s*$/.exec(line);
    if (!m) {
      if (line.trim() === '' || line.startsWith('device')) break;
      continue;
    }
    const f = (m[2] as string).split(/\s+/).map(Number);
    out.set(m[1] as string, { ops: f[0] as number, rtt: f[6] as number, exec: f[7] as number });
  }
  return out;
}

/** Calls made between two snapshots, procedures with none left out. */
export function diffOpStats(before: Map<string, RawOp>, after: Map<string, RawOp>): Record<string, OpStat> {
  const out: Record<string, OpStat> = {};
  for (const [name, a] of after) {
    const b = before.get(name) ?? { ops: 0, rtt: 0, exec: 0 };
    const calls = a.ops - b.ops;
    if (calls <= 0) continue;
    out[name] = { calls, rttMs: (a.rtt - b.rtt) / calls, execMs: (a.exec - b.exec) / calls };
  }
  return out;
}

/** Reads the snapshots the guest left in its output directory; phases without both are skipped. */
export function readPhaseOpStats(outDir: string): PhaseOpStats {
  const out: PhaseOpStats = {};
  for (const phase of OP_STAT_PHASES) {
    const [start, end] = ['start', 'end'].map((edge) => join(outDir, `mountstats-${phase}-${edge}`));
    if (!existsSync(start as string) || !existsSync(end as string)) continue;
    out[phase] = diffOpStats(parseMountStats(readFileSync(start as string, 'utf8')),
      parseMountStats(readFileSync(end as string, 'utf8')));
  }
  return out;
}

/** One line per phase and server: `LOOKUP 2000 × 0.41 ms, CREATE 2000 × 1.9 ms, ...`. */
export function formatOpStats(perServer: Array<{ name: string; opStats?: PhaseOpStats }>): string {
  const lines = ['client calls per phase (count x mean round trip), from the guest\'s mountstats:'];
  for (const phase of OP_STAT_PHASES) {
    for (const s of perServer) {
      const ops = s.opStats?.[phase];
      if (!ops) continue;
      const parts = Object.entries(ops)
        .sort((a, b) => b[1].calls - a[1].calls)
        .map(([name, o]) => `${name} ${o.calls} x ${o.rttMs.toFixed(2)} ms`);
      lines.push(`  ${phase.padEnd(7)} ${s.name.padEnd(8)} ${parts.join(', ') || '(none)'}`);
    }
  }
  return lines.join('\n');
}
