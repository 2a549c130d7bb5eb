// The reference floors of the S3 benchmarks: what a plain SDK client does over the same shaped
// link (shaped-link.ts), with the parallelism any careful client could use. Each returns its
// wall time, so a test or the benchmark can state "s3files took N× the floor measured in the
// same run". No mocha here: bench/ uses it too.
import http from 'node:http';
import {
  CopyObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface FloorClientOptions {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Sockets the client may open (default 64). */
  maxSockets?: number;
}

/** A plain SDK client, as a careful user would configure it for an S3-compatible server. */
export function floorClient(o: FloorClientOptions): S3Client {
  return new S3Client({
    endpoint: o.endpoint,
    region: o.region,
    forcePathStyle: true,
    credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED', // RGW refuses streaming checksums
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true, maxSockets: o.maxSockets ?? 64 }) }),
  });
}

export interface FloorResult {
  ms: number;
  requests: number;
  bytes: number;
}

/** Runs `work` over `items` with at most `concurrency` at once. */
export async function mapLimit<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

async function drain(body: unknown): Promise<number> {
  let n = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) n += chunk.length;
  return n;
}

const since = (t0: number) => Math.round(performance.now() - t0);

/** GETs each key (whole object), `concurrency` at a time. */
export async function fetchKeys(client: S3Client, bucket: string, keys: readonly string[], concurrency = 32): Promise<FloorResult> {
  const t0 = performance.now();
  let bytes = 0;
  await mapLimit(keys, concurrency, async (Key) => {
    const n = await drain((await client.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body);
    bytes += n; // not `bytes += await`: that reads `bytes` before the await and loses parallel sums
  });
  return { ms: since(t0), requests: keys.length, bytes };
}

/**
 * Lists everything under `prefix` (pages of 1,000, one after the other, as ListObjectsV2
 * requires) and HEADs every object `concurrency` at a time: a page's HEADs run while the next
 * page is being listed.
 */
export async function listAndHead(client: S3Client, bucket: string, prefix: string, concurrency = 32): Promise<FloorResult & { objects: number }> {
  const t0 = performance.now();
  let requests = 0;
  let objects = 0;
  const list = (token?: string) => {
    requests++;
    return client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
  };
  let page = await list();
  for (;;) {
    const next = page.IsTruncated ? list(page.NextContinuationToken) : undefined;
    const keys = (page.Contents ?? []).map((o) => o.Key!);
    objects += keys.length;
    await mapLimit(keys, concurrency, async (Key) => {
      await client.send(new HeadObjectCommand({ Bucket: bucket, Key }));
      requests++;
    });
    if (!next) break;
    page = await next;
  }
  return { ms: since(t0), requests, bytes: 0, objects };
}

/** Reads one object of `size` bytes as ranged GETs of `partBytes`, `inFlight` at a time. */
export async function rangedGet(client: S3Client, bucket: string, key: string, size: number, inFlight = 8, partBytes = 8 * 1024 * 1024): Promise<FloorResult> {
  const t0 = performance.now();
  const starts = Array.from({ length: Math.ceil(size / partBytes) }, (_, i) => i * partBytes);
  let bytes = 0;
  await mapLimit(starts, inFlight, async (start) => {
    const end = Math.min(size, start + partBytes) - 1;
    const n = await drain((await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end}` }))).Body);
    bytes += n;
  });
  if (bytes !== size) throw new Error(`ranged GETs of ${key} returned ${bytes} of ${size} bytes`);
  return { ms: since(t0), requests: starts.length, bytes };
}

/** PUTs each key with `body`, `concurrency` at a time. */
export async function putObjects(client: S3Client, bucket: string, keys: readonly string[], body: Buffer, concurrency = 32): Promise<FloorResult> {
  const t0 = performance.now();
  await mapLimit(keys, concurrency, async (Key) => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: body }));
  });
  return { ms: since(t0), requests: keys.length, bytes: keys.length * body.length };
}

/**
 * Moves every object under `from` to `to` as S3 allows: a CopyObject each, `concurrency` at a
 * time, then DeleteObjects of the sources in batches of 1,000.
 */
export async function moveKeys(client: S3Client, bucket: string, keys: readonly string[], from: string, to: string, concurrency = 32): Promise<FloorResult> {
  const t0 = performance.now();
  await mapLimit(keys, concurrency, async (Key) => {
    if (!Key.startsWith(from)) throw new Error(`${Key} is not under ${from}`);
    await client.send(new CopyObjectCommand({ Bucket: bucket, Key: to + Key.slice(from.length), CopySource: `${bucket}/${encodeURIComponent(Key).replace(/%2F/g, '/')}` }));
  });
  const batches = Array.from({ length: Math.ceil(keys.length / 1000) }, (_, i) => keys.slice(i * 1000, (i + 1) * 1000));
  await mapLimit(batches, concurrency, async (batch) => {
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
  });
  return { ms: since(t0), requests: keys.length + batches.length, bytes: 0 };
}
