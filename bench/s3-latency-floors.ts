// The SDK floor of each workload, measured in the same run on a fresh shaped link of the same
// shape: a plain SDK client doing the same S3 work with the parallelism any careful client can
// use (test/support/sdk-floor.ts). The benchmark's targets are ratios to these.
import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { CephRgw } from '../test/support/ceph-rgw';
import { countsBetween } from '../test/support/link-meter';
import { fetchKeys, floorClient, listAndHead, moveKeys, putObjects, rangedGet } from '../test/support/sdk-floor';
import { startShapedLink } from '../test/support/shaped-link';
import type { WorkloadResult } from './s3-latency-column';
import { layout, type S3BenchSizes, type WorkloadId } from './s3-latency-workloads';

export const FLOOR_HOW: Record<WorkloadId, string> = {
  'read-small': 'GET each object, 32 at a time',
  'ls-lR': 'LIST pages in turn, HEAD each object 32 at a time',
  'dd-big': 'ranged GETs of 8 MiB, 8 in flight',
  'cp-r': 'PUT each object, 32 at a time',
  'mv-dir': 'CopyObject each, 32 at a time, then DeleteObjects',
};

export interface FloorOptions {
  gw: CephRgw;
  direct: S3Client;
  bucket: string;
  sizes: S3BenchSizes;
  only: Set<WorkloadId>;
  latencyMs: number;
  connBytesPerSec: number;
  totalBytesPerSec: number;
}

export async function runFloors(o: FloorOptions): Promise<Partial<Record<WorkloadId, WorkloadResult>>> {
  const link = await startShapedLink({ target: o.gw.endpoint, latencyMs: o.latencyMs, connBytesPerSec: o.connBytesPerSec, totalBytesPerSec: o.totalBytesPerSec });
  const client = floorClient({ endpoint: link.endpoint, region: o.gw.region, accessKeyId: o.gw.accessKeyId, secretAccessKey: o.gw.secretAccessKey });
  const s = o.sizes;
  const tag = `floor-${o.latencyMs}`;
  const out: Partial<Record<WorkloadId, WorkloadResult>> = {};
  const measure = async (id: WorkloadId, work: () => Promise<boolean>) => {
    if (!o.only.has(id)) return;
    const t0 = performance.now();
    const verified = await work();
    const t1 = performance.now();
    out[id] = { wallMs: Math.round(t1 - t0), link: countsBetween(link.meter, t0, t1), verified, detail: {} };
  };
  try {
    await measure('read-small', async () => (await fetchKeys(client, o.bucket, layout.smallKeys(s), 32)).bytes === s.smallFiles * s.smallKib * 1024);
    await measure('ls-lR', async () => (await listAndHead(client, o.bucket, 'data/list/', 32)).objects === s.listObjects);
    await measure('dd-big', async () => (await rangedGet(client, o.bucket, layout.bigKey, s.bigMib * 1024 * 1024, 8)).bytes === s.bigMib * 1024 * 1024);
    const cpKeys = Array.from({ length: s.cpFiles }, (_, i) => `data/${tag}/cp/f${i}`);
    await measure('cp-r', async () => (await putObjects(client, o.bucket, cpKeys, randomBytes(s.cpKib * 1024), 32)).requests === s.cpFiles);
    if (o.only.has('mv-dir')) {
      const src = `data/${tag}/mv/src/`;
      const keys = Array.from({ length: s.mvObjects }, (_, i) => `${src}o${i}`);
      await putObjects(o.direct, o.bucket, keys, Buffer.alloc(1024, 'm'), 64);
      await measure('mv-dir', async () => (await moveKeys(client, o.bucket, keys, src, `data/${tag}/mv/dst/`, 32)).requests > 0);
    }
  } finally {
    client.destroy();
    await link.close();
  }
  return out;
}
