// The workloads of the S3 latency benchmark (bench/s3-latency-bench.ts): what is put in the
// bucket beforehand, and the shell script that runs them against one mounted file system and
// records a timestamp (`date +%s%N`, wall clock: the UML guest reads the host's clock) before
// and after each one in $OUT/marks. The same script runs in the UML guest on the NFS mount of
// s3files and on the host on the FUSE mounts of rclone and s3fs. Write workloads end when the
// bucket holds the result: the script then waits for the host's go-ahead ($OUT/go-ID).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import type { S3Client } from '@aws-sdk/client-s3';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { shellQuote } from '../test/support/uml';
import { mapLimit, putObjects } from '../test/support/sdk-floor';

export interface S3BenchSizes {
  smallFiles: number;
  smallDirs: number;
  smallKib: number;
  listObjects: number;
  listDirs: number;
  bigMib: number;
  cpFiles: number;
  cpKib: number;
  mvObjects: number;
}

export const FULL_SIZES: S3BenchSizes = {
  smallFiles: 2000, smallDirs: 20, smallKib: 64, listObjects: 20000, listDirs: 200, bigMib: 1024, cpFiles: 1000, cpKib: 64, mvObjects: 3000,
};
export const QUICK_SIZES: S3BenchSizes = {
  smallFiles: 200, smallDirs: 4, smallKib: 64, listObjects: 2000, listDirs: 20, bigMib: 64, cpFiles: 100, cpKib: 64, mvObjects: 300,
};

export type WorkloadId = 'read-small' | 'ls-lR' | 'dd-big' | 'cp-r' | 'mv-dir';
export const WORKLOAD_IDS: WorkloadId[] = ['read-small', 'ls-lR', 'dd-big', 'cp-r', 'mv-dir'];

export function workloadTitle(id: WorkloadId, s: S3BenchSizes): string {
  switch (id) {
    case 'read-small': return `read ${s.smallFiles} × ${s.smallKib} KiB in ${s.smallDirs} dirs (find|sort|xargs cat)`;
    case 'ls-lR': return `ls -lR of ${s.listObjects} objects in ${s.listDirs} dirs`;
    case 'dd-big': return `dd of one ${s.bigMib} MiB object (bs=1M)`;
    case 'cp-r': return `cp -r of ${s.cpFiles} × ${s.cpKib} KiB, until all in the bucket`;
    case 'mv-dir': return `mv of a dir of ${s.mvObjects} objects, until done in the bucket; ls of another dir during it`;
  }
}

/** Keys in the bucket, under the prefix every client mounts (`data/`). */
export const MOUNT_PREFIX = 'data/';
const pad = (n: number, w: number) => String(n).padStart(w, '0');
export const layout = {
  smallKeys: (s: S3BenchSizes) => Array.from({ length: s.smallFiles }, (_, i) => `data/read/d${pad(i % s.smallDirs, 3)}/f${pad(i, 6)}.bin`),
  listKeys: (s: S3BenchSizes) => Array.from({ length: s.listObjects }, (_, i) => `data/list/d${pad(i % s.listDirs, 4)}/o${pad(i, 6)}`),
  bigKey: 'data/big/file.bin',
  otherKeys: Array.from({ length: 10 }, (_, i) => `data/other/o${i}`),
  /** Per column, so that each writes and moves its own objects. */
  cpPrefix: (column: string) => `data/cp-${column}/`,
  mvPrefix: (column: string) => `data/mv-${column}/`,
  mvKeys: (column: string, s: S3BenchSizes) => Array.from({ length: s.mvObjects }, (_, i) => `data/mv-${column}/src/o${pad(i, 6)}`),
};

export interface SharedSeed {
  /** MD5 of the small files' bytes concatenated in sorted path order (what the script reads). */
  smallMd5: string;
  /** MD5 of the big object's last MiB. */
  bigTailMd5: string;
}

/** Puts the objects the selected workloads read (every column reads the same ones). */
export async function seedShared(client: S3Client, bucket: string, s: S3BenchSizes, only: Set<WorkloadId>, log: (m: string) => void): Promise<SharedSeed> {
  const t0 = performance.now();
  const seed: SharedSeed = { smallMd5: '', bigTailMd5: '' };
  if (only.has('read-small')) {
    const small = layout.smallKeys(s);
    const bodies = new Map(small.map((k) => [k, randomBytes(s.smallKib * 1024)]));
    log(`seeding ${small.length} small files`);
    await putEach(client, bucket, small, (k) => bodies.get(k)!);
    const hash = createHash('md5');
    for (const k of [...small].sort()) hash.update(bodies.get(k)!);
    seed.smallMd5 = hash.digest('hex');
  }
  if (only.has('ls-lR')) {
    log(`seeding ${s.listObjects} listing objects`);
    await putObjects(client, bucket, layout.listKeys(s), Buffer.alloc(100, 'l'), 64);
  }
  if (only.has('mv-dir')) await putObjects(client, bucket, layout.otherKeys, Buffer.from('other\n'), 10);
  if (only.has('dd-big')) {
    log(`seeding the ${s.bigMib} MiB object`);
    seed.bigTailMd5 = await putBig(client, bucket, layout.bigKey, s.bigMib);
  }
  log(`seeded in ${Math.round((performance.now() - t0) / 1000)} s`);
  return seed;
}

/** The objects one column moves (each column moves its own). */
export async function seedMove(client: S3Client, bucket: string, column: string, s: S3BenchSizes): Promise<void> {
  await putObjects(client, bucket, layout.mvKeys(column, s), Buffer.alloc(1024, 'm'), 64);
}

async function putEach(client: S3Client, bucket: string, keys: string[], body: (k: string) => Buffer): Promise<void> {
  await mapLimit(keys, 64, async (Key) => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: body(Key) }));
  });
}

/** A multipart upload of 16 MiB parts of one random buffer; returns the MD5 of the last MiB. */
async function putBig(client: S3Client, bucket: string, key: string, mib: number): Promise<string> {
  const partMib = Math.min(16, mib);
  const part = randomBytes(partMib * 1024 * 1024);
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const parts: Array<{ PartNumber: number; ETag: string }> = [];
  for (let n = 1; n <= Math.ceil(mib / partMib); n++) {
    const out = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n, Body: part }));
    parts.push({ PartNumber: n, ETag: out.ETag! });
  }
  await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
  return createHash('md5').update(part.subarray(part.length - 1024 * 1024)).digest('hex');
}

export interface ScriptOptions {
  /** The mounted file system (may use $OUT). */
  mnt: string;
  /** Lines that mount it first (the NFS mount in the guest), or nothing (FUSE, mounted by the host). */
  prelude: string[];
  column: string;
  sizes: S3BenchSizes;
  /** Host directory with the cp -r source files. */
  cpSource: string;
  only: Set<WorkloadId>;
  /** Seconds between the start of the mv and the ls of another directory. */
  lsDelaySec: number;
}

/**
 * Before each workload the script waits until the host has seen the link quiet for a moment:
 * what a file system still does in the background after the previous workload (a prefetch,
 * an upload) must not be counted in, or slow down, the next one.
 */
const settle = (id: WorkloadId) => [`mark ${id}.ready`, `waitgo settle-${id}`];

/** The shell script (run by `sh -e`): one block per workload, marks around each. */
export function workloadScript(o: ScriptOptions): string {
  const M = o.mnt;
  const lines = [
    `M="${M}"`,
    `mark() { echo "$1 $(date +%s%N)" >> "$OUT/marks"; }`,
    `waitgo() { while [ ! -e "$OUT/go-$1" ]; do sleep 0.1; done; }`,
    ...o.prelude,
    'mark ready',
  ];
  if (o.only.has('read-small')) {
    lines.push(
      ...settle('read-small'), 'mark read-small.start',
      `(cd "$M/read" && find . -type f | LC_ALL=C sort | xargs cat) | md5sum | cut -d' ' -f1 > "$OUT/read-small.md5"`,
      'mark read-small.end',
      // The same read again, from what the file system kept: the cost of the client's per-file
      // calls alone (not counted in the row; shown beside it).
      `(cd "$M/read" && find . -type f | LC_ALL=C sort | xargs cat) | md5sum | cut -d' ' -f1 > "$OUT/read-small.again.md5"`,
      'mark read-small.again',
    );
  }
  if (o.only.has('ls-lR')) {
    lines.push(...settle('ls-lR'), 'mark ls-lR.start', `ls -lR "$M/list" > "$OUT/ls-lR.txt"`, 'mark ls-lR.end', `grep -c '^-' "$OUT/ls-lR.txt" > "$OUT/ls-lR.count" || true`);
  }
  if (o.only.has('dd-big')) {
    lines.push(
      ...settle('dd-big'), 'mark dd-big.start',
      `dd if="$M/big/file.bin" of=/dev/null bs=1M 2> "$OUT/dd-big.txt"`,
      'mark dd-big.end',
      `tail -c 1048576 "$M/big/file.bin" | md5sum | cut -d' ' -f1 > "$OUT/dd-big.md5"`,
    );
  }
  if (o.only.has('cp-r')) {
    lines.push(...settle('cp-r'), 'mark cp-r.start', `cp -r ${shellQuote(o.cpSource)} "$M/cp-${o.column}"`, 'mark cp-r.copied', 'waitgo cp-r');
  }
  if (o.only.has('mv-dir')) {
    const dir = `$M/mv-${o.column}`;
    lines.push(
      // The source listed first (not timed): a client moves a directory it has seen.
      `ls -f "${dir}/src" | wc -l > "$OUT/mv-dir.before"`,
      ...settle('mv-dir'),
      'mark mv-dir.start',
      `mv "${dir}/src" "${dir}/dst" &`,
      'MVPID=$!',
      `sleep ${o.lsDelaySec}`,
      'mark mv-dir.ls.start',
      `ls "$M/other" > "$OUT/mv-dir.other"`,
      'mark mv-dir.ls.end',
      'wait $MVPID',
      'mark mv-dir.moved',
      'waitgo mv-dir',
    );
  }
  lines.push('mark done');
  return `${lines.join('\n')}\n`;
}

/** $OUT/marks → name → epoch milliseconds. */
export function readMarks(outDir: string): Map<string, number> {
  const file = `${outDir}/marks`;
  const marks = new Map<string, number>();
  if (!existsSync(file)) return marks;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [name, ns] = line.trim().split(/\s+/);
    if (name && ns && /^\d+$/.test(ns)) marks.set(name, Number(BigInt(ns) / 1000n) / 1000);
  }
  return marks;
}
