// Sending a file's contents to the bucket. Up to `multipartThreshold` bytes: one PutObject of
// the whole file. Larger: a multipart upload with parts aligned to the cache's blocks; a part
// none of whose blocks was written since the last upload, and which the previous object holds
// whole, is copied server-side (UploadPartCopy, pinned to that object's ETag) instead of sent,
// where the store can. The upload id is recorded in the cache while in flight, so a crash does
// not leak it (the reconciler aborts leftovers on start). Parts go `partConcurrency` at a time;
// every body (a whole small file, one part) is read from the cache only once its bytes fit in
// the shared ByteBudget, so memory stays bounded however many uploads run.
import type { CacheSync, SyncSnapshot } from '../cache';
import { MAX_PARTS, MIN_PART_SIZE, type CompletedPart, type ObjectStore } from '../s3/object-store';
import type { ByteBudget } from './byte-budget';
import { forEachLimit } from './pool';

const MiB = 1024 * 1024;
/** CopyObject's limit; larger objects are copied part by part. */
export const MAX_COPY_BYTES = 5 * 1024 * MiB;

export interface UploadTuning {
  multipartThreshold: number;
  partSize: number;
  partConcurrency: number;
}

export const DEFAULT_TUNING: UploadTuning = { multipartThreshold: 16 * MiB, partSize: 8 * MiB, partConcurrency: 8 };

export interface Condition {
  ifMatch?: string;
  ifNoneMatch?: '*';
}

/** The object the file's unchanged bytes may be copied from. */
export interface CopySource {
  key: string;
  etag: string;
  size: number;
}

export interface Sent {
  etag: string;
  bytesSent: number;
  bytesCopied: number;
  parts: number;
}

export interface UploadContext {
  sync: CacheSync;
  store: ObjectStore;
  tuning: UploadTuning;
  budget: ByteBudget;
}

/** Told the bytes of each part as it lands in the bucket (sent or copied). */
export type OnProgress = (bytes: number) => void;

/** The part size: the configured one, grown (in whole blocks) until the file fits in MAX_PARTS. */
export function partSizeFor(size: number, tuning: UploadTuning, blockSize: number): number {
  const base = Math.max(MIN_PART_SIZE, tuning.partSize);
  const needed = Math.max(base, Math.ceil(size / MAX_PARTS));
  return Math.ceil(needed / blockSize) * blockSize;
}

export async function uploadFile(
  ctx: UploadContext,
  snap: SyncSnapshot,
  key: string,
  metadata: Record<string, string>,
  cond: Condition,
  source: CopySource | undefined,
  onProgress: OnProgress = () => undefined,
): Promise<Sent> {
  const size = snap.size;
  if (size <= ctx.tuning.multipartThreshold) {
    return ctx.budget.run(size, async () => {
      const data = await ctx.sync.read(snap.ino, 0, size);
      const { etag } = await ctx.store.put(key, data, { metadata, ...cond });
      onProgress(size);
      return { etag, bytesSent: size, bytesCopied: 0, parts: 1 };
    });
  }
  return multipart(ctx, snap, key, metadata, cond, source, onProgress);
}

async function multipart(
  ctx: UploadContext,
  snap: SyncSnapshot,
  key: string,
  metadata: Record<string, string>,
  cond: Condition,
  source: CopySource | undefined,
  onProgress: OnProgress,
): Promise<Sent> {
  const { sync, store } = ctx;
  const bs = sync.blockSize;
  const partSize = partSizeFor(snap.size, ctx.tuning, bs);
  const count = Math.max(1, Math.ceil(snap.size / partSize));
  const canCopy = source !== undefined && store.capabilities.uploadPartCopy;
  const { uploadId } = await store.createMultipartUpload(key, { metadata });
  await sync.setUploadId(snap.ino, uploadId);
  const parts: CompletedPart[] = new Array(count);
  const sent = { etag: '', bytesSent: 0, bytesCopied: 0, parts: count };
  try {
    await forEachLimit(Array.from({ length: count }, (_, i) => i), ctx.tuning.partConcurrency, async (i) => {
      const start = i * partSize;
      const end = Math.min(snap.size, start + partSize) - 1;
      const reuse = canCopy && end < source.size && !sync.anyDirty(snap.ino, Math.floor(start / bs), Math.floor(end / bs));
      let etag: string;
      if (reuse) {
        ({ etag } = await store.uploadPartCopy(key, uploadId, i + 1, source.key, { range: { start, end }, sourceIfMatch: source.etag }));
        sent.bytesCopied += end - start + 1;
        onProgress(end - start + 1);
      } else {
        ({ etag } = await ctx.budget.run(end - start + 1, async () => {
          const data = await sync.read(snap.ino, start, end - start + 1);
          const part = await store.uploadPart(key, uploadId, i + 1, data);
          sent.bytesSent += data.length;
          onProgress(data.length);
          return part;
        }));
      }
      parts[i] = { partNumber: i + 1, etag };
    });
    ({ etag: sent.etag } = await store.completeMultipartUpload(key, uploadId, parts, cond));
  } catch (err) {
    await store.abortMultipartUpload(key, uploadId).catch(() => undefined);
    await sync.setUploadId(snap.ino, undefined).catch(() => undefined);
    throw err;
  }
  await sync.setUploadId(snap.ino, undefined);
  return sent;
}

/** A server-side copy of a whole object, part by part when it is over CopyObject's limit. */
export async function copyObject(
  store: ObjectStore,
  from: CopySource,
  to: string,
  metadata: Record<string, string> | undefined,
  partSize: number,
): Promise<string> {
  if (from.size <= MAX_COPY_BYTES) return (await store.copy(from.key, to, { metadata, ifMatch: from.etag })).etag;
  const meta = metadata ?? (await store.head(from.key)).metadata;
  const size = Math.max(partSize, Math.ceil(from.size / MAX_PARTS), MIN_PART_SIZE);
  const { uploadId } = await store.createMultipartUpload(to, { metadata: meta });
  try {
    const count = Math.ceil(from.size / size);
    const parts: CompletedPart[] = [];
    for (let i = 0; i < count; i++) {
      const range = { start: i * size, end: Math.min(from.size, (i + 1) * size) - 1 };
      const { etag } = await store.uploadPartCopy(to, uploadId, i + 1, from.key, { range, sourceIfMatch: from.etag });
      parts.push({ partNumber: i + 1, etag });
    }
    return (await store.completeMultipartUpload(to, uploadId, parts)).etag;
  } catch (err) {
    await store.abortMultipartUpload(to, uploadId).catch(() => undefined);
    throw err;
  }
}
