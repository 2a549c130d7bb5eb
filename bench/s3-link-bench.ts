// Benchmarks of the bucket link (issue 3), against a throwaway Ceph RGW started here, through
// the cache file system's API in this process (the NFS layer is not in the path: see
// bench/nfs-bench.ts for NFS itself):
//   1. close → visible: a file written and COMMITted; time until a HEAD of its key succeeds
//      (median, p99), at the default sync delay and a short one;
//   2. cold sequential read of a 1 GiB object through the file system vs a plain SDK GET of the
//      same object in the same run (target ≥ 0.8×);
//   3. bytes uploaded when 1 MiB in the middle of that 1 GiB file changes (sent vs copied
//      server-side with UploadPartCopy);
//   4. listing a directory of 100,000 objects: first listing (import), cached, and after the
//      TTL; the process's RSS growth.
//   node dist/bench/s3-link-bench.js [--big-mib 1024] [--objects 100000] [--files 40] [--repeat 3]
//     [--only latency,big,listing] [--out FILE]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import type { CacheFileSystem } from '../pkg/cache';
import { openLinkedExport, type LinkedExport } from '../pkg/reconcile';
import { listAll } from '../pkg/s3/object-store';
import { S3Store } from '../pkg/s3/s3-store';
import { startCephRgw, type CephRgw } from '../test/support/ceph-rgw';
import { ROOT } from '../test/support/linked-fs';
import winston from 'winston';

/** Info lines (the importer's "slow directory listing" breakdown) go to stderr. */
const benchLog = winston.createLogger({ level: 'info', format: winston.format.json(), transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info'] })] });

const MiB = 1024 * 1024;

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function link(store: S3Store, prefix: string, extra: Partial<Parameters<typeof openLinkedExport>[0]> = {}): Promise<LinkedExport & { dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3files-bench-'));
  const ex = await openLinkedExport({ cacheDir: path.join(dir, 'cache'), store, prefix, linkId: `bench:${prefix}`, logger: benchLog, ...extra });
  return Object.assign(ex, { dir });
}

async function closeToVisible(store: S3Store, files: number, syncDelayMs: number): Promise<{ median: number; p99: number }> {
  const ex = await link(store, `ctv-${syncDelayMs}/`, { syncDelayMs });
  const times: number[] = [];
  try {
    for (let i = 0; i < files; i++) {
      const c = await ex.fs.create(ROOT, ex.fs.rootIno, `f${i}`, { kind: 'unchecked', attributes: { mode: 0o644 } });
      await ex.fs.write(ROOT, c.ino, 0, randomBytes(64 * 1024), 'unstable');
      await ex.fs.commit(ROOT, c.ino, 0, 0);
      const t0 = performance.now();
      for (;;) {
        const seen = await store.head(`ctv-${syncDelayMs}/f${i}`).then(() => true, () => false);
        if (seen) break;
        await sleep(10);
      }
      times.push(performance.now() - t0);
    }
  } finally {
    await ex.close();
    fs.rmSync(ex.dir, { recursive: true, force: true });
  }
  return { median: Math.round(percentile(times, 50)), p99: Math.round(percentile(times, 99)) };
}

async function readAll(f: CacheFileSystem, ino: number, size: number): Promise<number> {
  const t0 = performance.now();
  for (let off = 0; off < size; off += MiB) await f.read(ROOT, ino, off, MiB);
  return performance.now() - t0;
}

async function bigFile(store: S3Store, mib: number, repeats: number): Promise<Record<string, number>> {
  const key = 'big/file.bin';
  const size = mib * MiB;
  const { uploadId } = await store.createMultipartUpload(key);
  const parts = [];
  const part = randomBytes(16 * MiB);
  for (let i = 0; i < size / (16 * MiB); i++) parts.push({ partNumber: i + 1, etag: (await store.uploadPart(key, uploadId, i + 1, part)).etag });
  await store.completeMultipartUpload(key, uploadId, parts);

  // SDK GET and a cold read through a fresh cache, alternating, `repeats` times each: the
  // machine is shared, so only figures taken side by side compare.
  const sdk: number[] = [];
  const cold: number[] = [];
  let patch: Record<string, number> = {};
  for (let r = 0; r < repeats; r++) {
    let t0 = performance.now();
    const got = await store.get(key);
    let n = 0;
    for await (const chunk of got.body) n += (chunk as Buffer).length;
    sdk.push(performance.now() - t0);
    if (n !== size) throw new Error(`SDK GET returned ${n} bytes`);
    const ex = await link(store, 'big/', { cacheSizeBytes: 4 * size });
    try {
      const ino = (await ex.fs.lookup(ROOT, ex.fs.rootIno, 'file.bin')).ino;
      cold.push(await readAll(ex.fs, ino, size));
      if (r < repeats - 1) continue;
      // The last run also changes 1 MiB in the middle and uploads it: the rest is copied.
      const stats0 = { ...ex.reconciler.ctx.stats };
      await ex.fs.write(ROOT, ino, size / 2, randomBytes(MiB), 'file-sync');
      t0 = performance.now();
      await ex.reconciler.drain(600_000);
      const s = ex.reconciler.ctx.stats;
      const c = ex.fs.sync!.counters();
      patch = {
        patchSentMiB: Math.round(((s.bytesSent - stats0.bytesSent) / MiB) * 10) / 10,
        patchCopiedMiB: Math.round(((s.bytesCopied - stats0.bytesCopied) / MiB) * 10) / 10,
        patchSyncMs: Math.round(performance.now() - t0),
        coldReadGets: c.streams + c.fetchRequests,
        coldReadStreamedMiB: Math.round(c.streamedBytes / MiB),
      };
    } finally {
      await ex.close();
      fs.rmSync(ex.dir, { recursive: true, force: true });
    }
  }
  await store.delete(key);
  const med = (xs: number[]) => percentile(xs, 50);
  return {
    sizeMiB: mib,
    repeats,
    sdkGetMiBps: Math.round(mib / (med(sdk) / 1000)),
    fsColdReadMiBps: Math.round(mib / (med(cold) / 1000)),
    ratio: Math.round((med(sdk) / med(cold)) * 100) / 100,
    samplesSdkMs: sdk.map(Math.round) as unknown as number,
    samplesColdMs: cold.map(Math.round) as unknown as number,
    ...patch,
  };
}

async function bigListing(store: S3Store, objects: number): Promise<Record<string, number>> {
  const names = Array.from({ length: objects }, (_, i) => `many/obj-${String(i).padStart(6, '0')}`);
  let t0 = performance.now();
  for (let i = 0; i < names.length; i += 64) await Promise.all(names.slice(i, i + 64).map((k) => store.put(k, Buffer.from('x'))));
  const putMs = performance.now() - t0;
  let tl = performance.now();
  let listed = 0;
  for await (const page of listAll(store, { prefix: 'many/', delimiter: '/' })) listed += page.objects.length;
  const rawListMs = performance.now() - tl;
  if (listed !== objects) throw new Error(`raw listing saw ${listed} objects`);
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let ex = await link(store, 'many/', { dirTtlMs: 600_000 });
  try {
    const list = async () => {
      const start = performance.now();
      let cookie = 0n;
      let verifier: Buffer = Buffer.alloc(8);
      let count = 0;
      for (;;) {
        const r = await ex.fs.readdir(ROOT, ex.fs.rootIno, { cookie, verifier, maxEntries: 1000, withAttributes: true });
        count += r.entries.length;
        if (r.eof || r.entries.length === 0) break;
        cookie = r.entries[r.entries.length - 1]!.cookie;
        verifier = r.verifier;
      }
      if (count !== objects + 2) throw new Error(`listed ${count - 2} of ${objects}`);
      return performance.now() - start;
    };
    const firstMs = await list();
    const rss1 = process.memoryUsage().rss;
    const cachedMs = await list();
    // Past the TTL: the same cache opened again with a 1 ms TTL lists the bucket again.
    await ex.close();
    const reopened = await openLinkedExport({ cacheDir: path.join(ex.dir, 'cache'), store, prefix: 'many/', linkId: 'bench:many/', logger: benchLog, dirTtlMs: 1 });
    ex = Object.assign(reopened, { dir: ex.dir });
    await sleep(5);
    const relistMs = await list();
    return {
      objects,
      putObjectsPerSec: Math.round(objects / (putMs / 1000)),
      sdkListObjectsMs: Math.round(rawListMs),
      firstListingMs: Math.round(firstMs),
      cachedListingMs: Math.round(cachedMs),
      relistAfterTtlMs: Math.round(relistMs),
      rssGrowthMiB: Math.round((rss1 - rss0) / MiB),
    };
  } finally {
    await ex.close();
    fs.rmSync(ex.dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'big-mib': { type: 'string', default: '1024' },
      objects: { type: 'string', default: '100000' },
      files: { type: 'string', default: '40' },
      out: { type: 'string', default: path.join(__dirname, '..', '..', 'bench', 'results', 's3-link-latest.json') },
      only: { type: 'string', default: 'latency,big,listing' },
      repeat: { type: 'string', default: '3' },
    },
  });
  const bigMib = Number(values['big-mib']);
  process.env.S3FILES_RGW_MEMSTORE_GIB ??= String(Math.max(2, Math.ceil((3 * bigMib) / 1024) + 1));
  const gw: CephRgw = await startCephRgw();
  const results: Record<string, unknown> = { date: new Date().toISOString(), rgwStartupMs: gw.startupMs };
  try {
    await gw.createBucket('bench');
    const store = new S3Store({
      bucket: 'bench', endpoint: gw.endpoint, region: gw.region, forcePathStyle: true,
      credentials: { accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey },
    });
    await store.detectCapabilities();
    const files = Number(values.files);
    const only = new Set(values.only.split(','));
    if (only.has('latency')) {
      results.closeToVisibleDefaultDelay = await closeToVisible(store, files, 2000);
      console.log('close → visible (2 s delay):', results.closeToVisibleDefaultDelay);
      results.closeToVisibleShortDelay = await closeToVisible(store, files, 100);
      console.log('close → visible (100 ms delay):', results.closeToVisibleShortDelay);
    }
    if (only.has('big')) {
      results.bigFile = await bigFile(store, bigMib, Number(values.repeat));
      console.log(`${bigMib} MiB file:`, results.bigFile);
    }
    if (only.has('listing')) {
      results.listing = await bigListing(store, Number(values.objects));
      console.log('listing:', results.listing);
    }
    store.destroy();
  } finally {
    await gw.stop();
  }
  fs.mkdirSync(path.dirname(values.out), { recursive: true });
  fs.writeFileSync(values.out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`results in ${values.out}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
