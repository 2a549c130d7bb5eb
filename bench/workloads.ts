// The benchmark's workloads, as one guest shell script per server, and the parser for what that
// script records. Every timing is taken inside the guest with `date +%s%N` around the workload
// only; preparation (source data, pre-allocated files, remounts to drop the client cache) is
// outside the timed region. Results are appended to $OUT/results.txt as each workload ends, so
// a server that fails half-way still reports the workloads it finished.

export interface BenchParams {
  /** Size of the sequential file, MiB. */
  sizeMib: number;
  /** Number of small files. */
  files: number;
  /** 4 KiB random writes (buffered, one fsync at the end). */
  randOps: number;
  /** 4 KiB random O_DIRECT writes (each one a synchronous round trip). */
  directOps: number;
  /** File the random writes land in, MiB. */
  randFileMib: number;
  /** Path of the compiled randwrite.c; the random-write workloads are skipped without it. */
  randwriteTool?: string;
}

export type Unit = 'MiB/s' | 'ops/s';

export interface WorkloadSpec {
  id: string;
  title: (p: BenchParams) => string;
  unit: Unit;
  needsTool?: boolean;
}

export const WORKLOADS: WorkloadSpec[] = [
  { id: 'seqwrite', unit: 'MiB/s', title: (p) => `seq write 1 MiB blocks, ${p.sizeMib} MiB + fsync` },
  { id: 'seqread', unit: 'MiB/s', title: (p) => `seq read 1 MiB blocks, ${p.sizeMib} MiB, cold client cache` },
  {
    id: 'randwrite', unit: 'ops/s', needsTool: true,
    title: (p) => `rand write 4 KiB x ${p.randOps} in ${p.randFileMib} MiB, buffered + fsync`,
  },
  {
    id: 'randwrite-direct', unit: 'ops/s', needsTool: true,
    title: (p) => `rand write 4 KiB x ${p.directOps}, O_DIRECT (sync each)`,
  },
  { id: 'create', unit: 'ops/s', title: (p) => `create ${p.files} files of 4 KiB` },
  { id: 'stat', unit: 'ops/s', title: (p) => `stat ${p.files} files, cold client cache` },
  { id: 'delete', unit: 'ops/s', title: (p) => `delete ${p.files} files (rm -rf)` },
];

export interface Measurement {
  id: string;
  seconds: number;
  bytes: number;
  ops: number;
  /** MiB/s or ops/s according to the workload's unit. */
  rate: number;
  /** false when the data read back differed from what was written. */
  verified?: boolean;
  /** With --repeat: the rate of every run (rate is their median). */
  samples?: number[];
}

/**
 * The guest script. `mount` is the full mount command for "$OUT/mnt"; everything runs under
 * `sh -e`, so a failing command ends the run and the harness reports the workload in progress.
 */
export function benchScript(mount: string, p: BenchParams): string {
  const bytes = p.sizeMib * 1048576;
  const lines = [
    'MNT="$OUT/mnt"; R="$OUT/results.txt"; : > "$R"; mkdir -p "$MNT"',
    'now() { date +%s%N; }',
    'begin() { echo "$1" > "$OUT/current"; echo "[bench] $1"; }',
    'record() { echo "$1 $2 $3 $4 $5" >> "$R"; }',
    'check() { echo "check $1 $2" >> "$R"; }',
    // The client's own per-operation counts and round-trip times (see opStats in report.ts).
    'opstats() { cat /proc/self/mountstats > "$OUT/mountstats-$1"; }',
    // Drop the client's page, dentry and attribute caches between write and read phases.
    `remount() { umount "$MNT"; echo 3 > /proc/sys/vm/drop_caches; ${mount}; }`,
    'begin mount',
    mount,
    `head -c ${bytes} /dev/urandom > /run/src`,
    'begin seqwrite; t0=$(now)',
    'dd if=/run/src of="$MNT/seq.bin" bs=1M conv=fsync 2>>"$OUT/dd.log"',
    `t1=$(now); record seqwrite $t0 $t1 ${bytes} ${p.sizeMib}`,
    'remount',
    'begin seqread; t0=$(now)',
    'dd if="$MNT/seq.bin" of=/dev/null bs=1M 2>>"$OUT/dd.log"',
    `t1=$(now); record seqread $t0 $t1 ${bytes} ${p.sizeMib}`,
    // Compares with what the server returned (now in the client's page cache).
    'if cmp -s /run/src "$MNT/seq.bin"; then check seqread ok; else check seqread FAILED; fi',
    'rm -f /run/src "$MNT/seq.bin"',
  ];
  if (p.randwriteTool) lines.push(...randomWriteLines(p.randwriteTool, p));
  lines.push(...smallFileLines(p), 'umount "$MNT"', 'begin done');
  return `${lines.join('\n')}\n`;
}

function randomWriteLines(tool: string, p: BenchParams): string[] {
  const file = '"$MNT/rand.bin"';
  const bytes = p.randFileMib * 1048576;
  const run = (mode: string, n: number, seed: number): string => `${tool} ${mode} ${file} ${bytes} ${n} 4096 ${seed}`;
  return [
    'begin randwrite-prepare',
    `dd if=/dev/urandom of=${file} bs=1M count=${p.randFileMib} conv=fsync 2>>"$OUT/dd.log"`,
    'remount',
    // Buffered: the client gathers the dirty pages and sends WRITEs (UNSTABLE) + COMMIT at fsync.
    'begin randwrite; t0=$(now)',
    `${run('write', p.randOps, 42)} buffered`,
    `t1=$(now); record randwrite $t0 $t1 ${p.randOps * 4096} ${p.randOps}`,
    'remount',
    `if ${run('verify', p.randOps, 42)}; then check randwrite ok; else check randwrite FAILED; fi`,
    // O_DIRECT: one 4 KiB WRITE (FILE_SYNC) round trip per call, the latency a database sees.
    'begin randwrite-direct; t0=$(now)',
    `${run('write', p.directOps, 43)} direct`,
    `t1=$(now); record randwrite-direct $t0 $t1 ${p.directOps * 4096} ${p.directOps}`,
    'remount',
    `if ${run('verify', p.directOps, 43)}; then check randwrite-direct ok; else check randwrite-direct FAILED; fi`,
    `rm -f ${file}`,
  ];
}

function smallFileLines(p: BenchParams): string[] {
  // Shell builtins only (printf, [ -f ]): forking a process per file would measure UML, not NFS.
  return [
    'mkdir "$MNT/small"; BLK=$(head -c 3072 /dev/urandom | base64 -w0)',
    'begin create; opstats create-start; t0=$(now); i=0',
    `while [ $i -lt ${p.files} ]; do printf '%s' "$BLK" > "$MNT/small/f$i"; i=$((i+1)); done`,
    `t1=$(now); opstats create-end; record create $t0 $t1 ${p.files * 4096} ${p.files}`,
    'remount',
    'begin stat; opstats stat-start; t0=$(now); i=0',
    `while [ $i -lt ${p.files} ]; do [ -f "$MNT/small/f$i" ]; i=$((i+1)); done`,
    `t1=$(now); opstats stat-end; record stat $t0 $t1 0 ${p.files}`,
    'begin delete; opstats delete-start; t0=$(now)',
    'rm -rf "$MNT/small"',
    `t1=$(now); opstats delete-end; record delete $t0 $t1 0 ${p.files}`,
  ];
}

/** Parses $OUT/results.txt into measurements keyed by workload id. */
export function parseResults(text: string): Map<string, Measurement> {
  const out = new Map<string, Measurement>();
  const checks = new Map<string, boolean>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'check' && f[1]) {
      checks.set(f[1], f[2] === 'ok');
      continue;
    }
    if (f.length !== 5) continue;
    const [id, t0, t1, bytes, ops] = f as [string, string, string, string, string];
    const seconds = Number(BigInt(t1) - BigInt(t0)) / 1e9;
    const spec = WORKLOADS.find((w) => w.id === id);
    if (!spec || !(seconds > 0)) continue;
    const rate = spec.unit === 'MiB/s' ? Number(bytes) / 1048576 / seconds : Number(ops) / seconds;
    out.set(id, { id, seconds, bytes: Number(bytes), ops: Number(ops), rate });
  }
  for (const [id, ok] of checks) {
    const m = out.get(id);
    if (m) m.verified = ok;
  }
  return out;
}
