// Capability probe: asks the server, once, what it really does with the requests the reconciler
// relies on, using scratch objects under a probe prefix that are removed afterwards. Raw SDK
// calls (through the store's retry loop) so that no emulation hides the server's behaviour.
// Found on Ceph RGW 16.2.15: UploadPartCopy yes; PutObject If-None-Match/If-Match yes (If-Match
// only unquoted); CompleteMultipartUpload conditions ignored; copy-source If-Match ignored.
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand,
  DeleteObjectCommand, PutObjectCommand, UploadPartCommand, UploadPartCopyCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { logger } from '../log/logger';
import { PreconditionFailedError } from './errors';
import { StoreCapabilities, stripEtagQuotes } from './object-store';

const log = logger('s3');
const STALE = '0123456789abcdef0123456789abcdef';

/**
 * What the probe uses of its S3Store, which runs it: an interface here rather than an import of
 * s3-store.ts, which imports this file.
 */
export interface ProbeTarget {
  readonly bucket: string;
  readonly client: S3Client;
  /** One request through the store's retry loop. */
  call<T>(operation: string, key: string | undefined, fn: () => Promise<T>): Promise<T>;
}

export interface ProbeResult {
  capabilities: StoreCapabilities;
  ifMatchStyle: 'unquoted' | 'quoted';
}

/** True if `fn` was refused with a failed precondition, false if it succeeded. */
async function refused(fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return false;
  } catch (err) {
    if (err instanceof PreconditionFailedError) return true;
    throw err;
  }
}

/** True if `fn` succeeded; any failure other than throttling/transients counts as unsupported. */
async function works(what: string, fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (err) {
    log.info('probe: not supported', { what, error: (err as Error).name });
    return false;
  }
}

export async function probeCapabilities(store: ProbeTarget, prefix: string): Promise<ProbeResult> {
  const base = `${prefix}${Date.now().toString(36)}-${randomBytes(4).toString('hex')}/`;
  const [a, b, c] = [`${base}a`, `${base}b`, `${base}c`];
  const B = store.bucket;
  const send = <T>(op: string, key: string, fn: () => Promise<T>) => store.call(`probe:${op}`, key, fn);
  const put = (key: string, extra: { IfMatch?: string; IfNoneMatch?: string } = {}) =>
    send('put', key, () => store.client.send(new PutObjectCommand({ Bucket: B, Key: key, Body: Buffer.from('s3files probe'), ...extra })));
  const uploads: Array<[string, string]> = [];
  try {
    const etag = stripEtagQuotes((await put(a)).ETag ?? '');
    const noneMatchRefused = await refused(() => put(a, { IfNoneMatch: '*' }));
    const staleRefused = await refused(() => put(a, { IfMatch: STALE }));
    let ifMatchStyle: 'unquoted' | 'quoted' = 'unquoted';
    let matchAccepted = !(await refused(() => put(a, { IfMatch: etag })));
    if (!matchAccepted) {
      ifMatchStyle = 'quoted';
      matchAccepted = !(await refused(() => put(a, { IfMatch: `"${etag}"` })));
    }
    const conditionalWrites = noneMatchRefused && staleRefused && matchAccepted;

    const copySourceIfMatch = await refused(() =>
      send('copy', b, () => store.client.send(new CopyObjectCommand({ Bucket: B, Key: b, CopySource: `${B}/${a}`, CopySourceIfMatch: `"${STALE}"` }))),
    );

    const create = async (key: string) => {
      const out = await send('create', key, () => store.client.send(new CreateMultipartUploadCommand({ Bucket: B, Key: key })));
      uploads.push([key, out.UploadId ?? '']);
      return out.UploadId ?? '';
    };
    const cId = await create(c);
    const uploadPartCopy = await works('UploadPartCopy', () =>
      send('uploadPartCopy', c, () => store.client.send(new UploadPartCopyCommand({ Bucket: B, Key: c, UploadId: cId, PartNumber: 1, CopySource: `${B}/${a}`, CopySourceRange: 'bytes=0-3' }))),
    );

    // Complete an upload onto the existing `a` with If-None-Match: * — must be refused.
    const aId = await create(a);
    const part = await send('uploadPart', a, () => store.client.send(new UploadPartCommand({ Bucket: B, Key: a, UploadId: aId, PartNumber: 1, Body: Buffer.from('x') })));
    const conditionalMultipartComplete = await refused(() =>
      send('complete', a, () => store.client.send(new CompleteMultipartUploadCommand({
        Bucket: B, Key: a, UploadId: aId, IfNoneMatch: '*', MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }))),
    );
    return { capabilities: { uploadPartCopy, conditionalWrites, conditionalMultipartComplete, copySourceIfMatch }, ifMatchStyle };
  } finally {
    for (const [key, id] of uploads) {
      await store.client.send(new AbortMultipartUploadCommand({ Bucket: B, Key: key, UploadId: id })).catch(() => undefined);
    }
    for (const key of [a, b, c]) await store.client.send(new DeleteObjectCommand({ Bucket: B, Key: key })).catch(() => undefined);
  }
}
