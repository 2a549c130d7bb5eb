// The S3 boundary (DESIGN.md decisions 3–6): everything above this interface (reconciler, CSI
// controller) sees domain types and the domain errors of ./errors, never SDK types. Two
// implementations honour the same contract, checked by one test suite
// (test/support/object-store-contract.ts): S3Store over @aws-sdk/client-s3, and FolderStore
// over a local directory (the embedded default when no cloud is configured).
//
// Scope: a store is bound to ONE bucket and callers pass full object keys. The volume's prefix
// is applied by the caller (one key-mapping function in pkg/reconcile), because the controller
// works across prefixes (CreateVolume makes per-volume prefixes under a base prefix) and
// listings return full keys that callers compare with full keys.
//
// Conventions:
// - ETags are plain strings WITHOUT the surrounding quotes ("abc…", or "abc…-3" for multipart).
// - Ranges are byte offsets with an INCLUSIVE end, like HTTP Range and x-amz-copy-source-range.
// - User metadata keys are given without the `x-amz-meta-` prefix and come back lowercased
//   (`{ mode: '33188' }` is stored as x-amz-meta-mode). Values must be printable US-ASCII:
//   S3 sends them as HTTP headers (RGW rejects others with a signature error), so both stores
//   refuse other values with InvalidArgumentError.
// - Missing objects: head/get/copy/uploadPartCopy throw NotFoundError; delete/deleteMany of a
//   missing key succeed (S3 semantics).
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
  metadata: Record<string, string>;
  contentType?: string;
}

export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/** A body the store can send more than once (retries re-open it). */
export interface StreamBody {
  length: number;
  open(): Readable;
}

export type Body = Buffer | StreamBody;

export interface GetOptions {
  range?: ByteRange;
  /** Read only if the object still has this ETag, else PreconditionFailedError. */
  ifMatch?: string;
}

export interface GetResult {
  /** Info about the whole object: `size` is the full object size even for a ranged read. */
  info: ObjectInfo;
  /** The bytes actually returned (a range past the end is clamped, as in S3). */
  range: ByteRange | undefined;
  contentLength: number;
}

export interface GetStreamResult extends GetResult {
  /** Must be consumed or destroyed: it holds a connection and a concurrency slot. */
  body: Readable;
}

export interface GetBufferResult extends GetResult {
  data: Buffer;
}

export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  continuationToken?: string;
  /** 1..1000; fewer may be returned. */
  maxKeys?: number;
  startAfter?: string;
}

export interface ListResult {
  objects: ListedObject[];
  commonPrefixes: string[];
  /** Present when more results follow. Opaque: pass back as continuationToken. */
  nextContinuationToken?: string;
}

export interface PutOptions {
  metadata?: Record<string, string>;
  contentType?: string;
  /** Write only if the object currently has this ETag (PreconditionFailedError otherwise, also when it is missing). */
  ifMatch?: string;
  /** '*': write only if no object exists under the key. */
  ifNoneMatch?: '*';
}

export interface CreateMultipartOptions {
  metadata?: Record<string, string>;
  contentType?: string;
}

export interface CompletedPart {
  partNumber: number;
  etag: string;
}

export interface CompleteMultipartOptions {
  ifMatch?: string;
  ifNoneMatch?: '*';
}

export interface UploadPartCopyOptions {
  range?: ByteRange;
  /** Copy only if the source still has this ETag. */
  sourceIfMatch?: string;
}

export interface CopyOptions {
  /** When given, the destination gets exactly this metadata (REPLACE); otherwise the source's. */
  metadata?: Record<string, string>;
  contentType?: string;
  /** Copy only if the source still has this ETag. */
  ifMatch?: string;
}

export interface DeleteError {
  key: string;
  /** A domain error class name: 'AccessDeniedError', 'TransientError', … */
  error: string;
  message: string;
}

/**
 * What the server really does. Detected once by `detectCapabilities()` (probe objects under a
 * scratch key, removed afterwards) or given in configuration; a configured value wins.
 * When a conditional capability is false, the store still honours the option on a best-effort
 * basis (a HEAD just before the call), which narrows but does not close the race window.
 */
export interface StoreCapabilities {
  /** UploadPartCopy works (re-use of unchanged ranges of the previous object). */
  uploadPartCopy: boolean;
  /** PutObject honours If-None-Match: * and If-Match (atomic compare-and-swap). */
  conditionalWrites: boolean;
  /** CompleteMultipartUpload honours If-None-Match / If-Match. */
  conditionalMultipartComplete: boolean;
  /** CopyObject / UploadPartCopy honour x-amz-copy-source-if-match. */
  copySourceIfMatch: boolean;
}

export interface ObjectStore {
  readonly capabilities: StoreCapabilities;
  /** Probes the server once (cached; concurrent callers share one probe) and returns the result. */
  detectCapabilities(): Promise<StoreCapabilities>;

  head(key: string): Promise<ObjectInfo>;
  get(key: string, opts?: GetOptions): Promise<GetStreamResult>;
  getBuffer(key: string, opts?: GetOptions): Promise<GetBufferResult>;
  list(opts: ListOptions): Promise<ListResult>;
  put(key: string, body: Body, opts?: PutOptions): Promise<{ etag: string }>;

  createMultipartUpload(key: string, opts?: CreateMultipartOptions): Promise<{ uploadId: string }>;
  uploadPart(key: string, uploadId: string, partNumber: number, body: Body): Promise<{ etag: string }>;
  uploadPartCopy(key: string, uploadId: string, partNumber: number, sourceKey: string, opts?: UploadPartCopyOptions): Promise<{ etag: string }>;
  completeMultipartUpload(key: string, uploadId: string, parts: CompletedPart[], opts?: CompleteMultipartOptions): Promise<{ etag: string }>;
  /** Idempotent: aborting an unknown or finished upload succeeds. */
  abortMultipartUpload(key: string, uploadId: string): Promise<void>;

  copy(sourceKey: string, destKey: string, opts?: CopyOptions): Promise<{ etag: string }>;
  delete(key: string): Promise<void>;
  /** Deletes up to any number of keys (batched by 1000); returns the keys that failed. */
  deleteMany(keys: string[]): Promise<DeleteError[]>;
}

/** S3's limits, enforced by both stores so that they agree. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PARTS = 10000;
export const MAX_KEY_BYTES = 1024;

/** Iterates every object and common prefix under a prefix, page by page. */
export async function* listAll(store: ObjectStore, opts: Omit<ListOptions, 'continuationToken'>): AsyncGenerator<ListResult> {
  let token: string | undefined;
  do {
    const page = await store.list({ ...opts, continuationToken: token });
    yield page;
    token = page.nextContinuationToken;
  } while (token);
}

export function stripEtagQuotes(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}
