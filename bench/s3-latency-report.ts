// The S3 latency benchmark's table: per latency, per workload, one line per file system and
// the SDK floor: wall time, its ratio to the SDK floor, requests by kind, requests in flight
// (peak; mean while any was), and the two computed floors of that line's own traffic:
// its requests one after another (requests × latency) and its bytes through one connection
// (bytes ÷ the per-connection cap).
import type { ColumnResult, WorkloadResult } from './s3-latency-column';
import { workloadTitle, WORKLOAD_IDS, type S3BenchSizes, type WorkloadId } from './s3-latency-workloads';

export interface LatencyRun {
  latencyMs: number;
  connBytesPerSec: number;
  columns: ColumnResult[];
  floors: Partial<Record<WorkloadId, WorkloadResult>>;
}

const HEAD = ['', 'wall s', '×SDK', 'LIST', 'HEAD', 'GET', 'GET MiB', 'PUT', 'part', 'copy', 'del', 'mpu', 'other', 'peak', 'mean', 'serial s', 'bytes/cap s', ''];
const WIDTH = [25, 8, 6, 6, 6, 6, 8, 6, 6, 6, 6, 5, 6, 5, 5, 9, 11, 0];

function secs(ms: number): string {
  return (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
}

function detail(id: WorkloadId, w: WorkloadResult, latencyMs: number): string {
  const d = w.detail;
  const parts: string[] = [];
  if (!w.verified) parts.push('NOT VERIFIED');
  if ((d.settleMs ?? 0) >= 2000) parts.push(`link busy ${secs(d.settleMs!)} s before it`);
  if (id === 'read-small' && Number.isFinite(d.againMs)) parts.push(`read again (cached) ${secs(d.againMs!)} s`);
  if (id === 'cp-r' && Number.isFinite(d.copyMs)) parts.push(`cp itself ${secs(d.copyMs!)} s`);
  if (id === 'mv-dir') {
    if (Number.isFinite(d.mvMs)) parts.push(`mv itself ${secs(d.mvMs!)} s`);
    if (Number.isFinite(d.lsMs)) {
      const rtt = latencyMs > 0 ? ` = ${(d.lsMs! / latencyMs).toFixed(1)} × latency` : '';
      parts.push(`ls during it ${d.lsMs} ms${rtt}${d.lsEndedBeforeMoveDone ? '' : ' (move already done)'}`);
    }
  }
  return parts.join('; ');
}

function line(label: string, id: WorkloadId, w: WorkloadResult | undefined, floor: WorkloadResult | undefined, run: LatencyRun): string {
  if (!w) return `${label.padEnd(WIDTH[0]!)} (no result)`;
  const r = w.link.requests;
  const cells = [
    label, secs(w.wallMs), floor && floor !== w ? (w.wallMs / floor.wallMs).toFixed(2) : '',
    r.list, r.head, r.get, (w.link.getBytes / 2 ** 20).toFixed(1), r.put, r.part, r.copy, r.delete,
    r.mpuCreate + r.mpuComplete + r.mpuAbort, r.other, w.link.peak, w.link.meanWhileBusy.toFixed(1),
    secs(Object.values(r).reduce((a, b) => a + b, 0) * run.latencyMs),
    secs(((w.link.bytesUp + w.link.bytesDown) / run.connBytesPerSec) * 1000),
    detail(id, w, run.latencyMs),
  ];
  return cells.map((c, i) => (i === 0 ? String(c).padEnd(WIDTH[i]!) : String(c).padStart(WIDTH[i]!))).join(' ');
}

export function formatRuns(runs: LatencyRun[], sizes: S3BenchSizes, only: Set<WorkloadId>): string {
  const out: string[] = [];
  for (const run of runs) {
    out.push(`=== ${run.latencyMs} ms added first-byte latency, ${(run.connBytesPerSec / 1e6).toFixed(0)} MB/s per connection ===`);
    for (const c of run.columns) if (!c.ok) out.push(`  ${c.peer}: FAILED ${c.error ?? ''}`.trimEnd());
    for (const id of WORKLOAD_IDS.filter((i) => only.has(i))) {
      out.push('', workloadTitle(id, sizes));
      out.push(HEAD.map((h, i) => (i === 0 ? h.padEnd(WIDTH[i]!) : h.padStart(WIDTH[i]!))).join(' '));
      const floor = run.floors[id];
      for (const c of run.columns) {
        if (c.peer === 's3files-local' && !c.workloads[id]) continue; // it runs cp -r only
        out.push(line(`${c.peer} (${c.peer.startsWith('s3files') ? 'NFS, UML' : 'FUSE, host'})`, id, c.workloads[id], floor, run));
      }
      out.push(line('SDK floor', id, floor, floor, run));
    }
    out.push('');
  }
  return out.join('\n');
}
