// ObjectStore over @aws-sdk/client-s3, bound to one bucket (see object-store.ts for why).
// Every call goes through `call()`: argument checks, a concurrency slot per attempt, our retry
// loop, and one mapping of failures to domain errors. RGW quirks handled here (TESTING.md):
// empty ETag from CompleteMultipartUpload (computed from the parts, else HEAD), If-Match sent
// unquoted, copy-source conditions ignored (emulated by a HEAD just before, see capabilities).
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand,
  DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command,
  PutObjectCommand, S3Client, UploadPartCommand, UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { logger } from '../log/logger';
import { isMd5Etag, md5OfBody, multipartEtag } from './etag';
import { NotFoundError, ObjectStoreError, PreconditionFailedError } from './errors';
import {
  Body, CompletedPart, CompleteMultipartOptions, CopyOptions, CreateMultipartOptions, DeleteError,
  GetBufferResult, GetOptions, GetStreamResult, ListOptions, ListResult, ObjectInfo, ObjectStore, PutOptions,
  StoreCapabilities, stripEtagQuotes, UploadPartCopyOptions,
} from './object-store';
import { Limiter } from './limiter';
import { classifyFailure, withRetries } from './retry';
import { buildClient, ResolvedS3Config, resolveConfig, S3StoreConfig } from './s3-config';
import { isNotFound, isPreconditionFailure, toDomainError } from './sdk-errors';
import { resumableBody } from './resumable-body';
import { getInfo, infoFrom, sdkBody, sortedEntries } from './s3-responses';
import { probeCapabilities } from './s3-probe';
import { normalizeMetadata, validateKey, validateMaxKeys, validatePartNumber, validateRange } from './validate';

const log = logger('s3');

/** Until a probe runs, assume the least: conditions are then checked with a HEAD first. */
const CONSERVATIVE: StoreCapabilities = { uploadPartCopy: false, conditionalWrites: false, conditionalMultipartComplete: false, copySourceIfMatch: false };

interface Attempt {
  attempt: number;
}

export class S3Store implements ObjectStore {
  readonly client: S3Client;
  private readonly cfg: ResolvedS3Config;
  private readonly limiter: Limiter;
  private detected: StoreCapabilities | undefined;
  private probing: Promise<StoreCapabilities> | undefined;
  private ifMatchStyle: 'unquoted' | 'quoted';

  constructor(private readonly config: S3StoreConfig) {
    this.cfg = resolveConfig(config);
    this.limiter = new Limiter(this.cfg.maxConcurrency);
    this.client = buildClient(config, this.cfg.maxConcurrency);
    this.ifMatchStyle = config.ifMatchStyle ?? 'unquoted';
  }

  /** Per-request options of reads: a stalled GET, HEAD or LIST is cut off (and retried). */
  private get readTimeout(): { requestTimeout: number } {
    return { requestTimeout: this.cfg.readTimeoutMs };
  }

  get bucket(): string {
    return this.cfg.bucket;
  }

  get capabilities(): StoreCapabilities {
    return { ...CONSERVATIVE, ...this.detected, ...this.config.capabilities };
  }

  async detectCapabilities(): Promise<StoreCapabilities> {
    if (!this.detected) {
      this.probing ??= probeCapabilities(this, this.cfg.probePrefix).then(
        ({ capabilities, ifMatchStyle }) => {
          this.detected = capabilities;
          if (!this.config.ifMatchStyle) this.ifMatchStyle = ifMatchStyle;
          log.info('object store capabilities', { bucket: this.bucket, ...capabilities, ifMatchStyle });
          return capabilities;
        },
        (err) => {
          this.probing = undefined; // a failed probe is not cached
          throw err;
        },
      );
      await this.probing;
    }
    return this.capabilities;
  }

  /** Formats an ETag for If-Match headers (exposed for the probe). */
  formatIfMatch(etag: string | undefined, style = this.ifMatchStyle): string | undefined {
    if (etag === undefined) return undefined;
    const bare = stripEtagQuotes(etag);
    return style === 'quoted' ? `"${bare}"` : bare;
  }

  /** Runs one S3 operation with a slot per attempt, our retries and domain errors. */
  async call<T>(operation: string, key: string | undefined, fn: (a: Attempt) => Promise<T>, holdsSlot = false): Promise<T> {
    return withRetries(
      (a) => this.observed(() => (holdsSlot ? fn(a) : this.limiter.run(() => fn(a)))),
      this.cfg.policy,
      this.cfg.deps,
      ({ kind, attempts, lastError }) => toDomainError(lastError, kind, { operation, key }, this.cfg.secrets, attempts),
      ({ kind, attempts, lastError }, delayMs) =>
        log.debug('retrying', { operation, key, kind, attempts, delayMs, error: toDomainError(lastError, kind, { operation, key }, this.cfg.secrets, attempts).message }),
    );
  }

  /** Tells the limiter how the server answered: throttling cuts the concurrency, answers grow it. */
  private async observed<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const result = await fn();
      this.limiter.succeeded();
      return result;
    } catch (err) {
      const kind = classifyFailure(err);
      if (kind === 'throttle') this.limiter.throttled();
      else if (kind === 'fatal') this.limiter.succeeded(); // the server answered (404, 412, …)
      throw err;
    }
  }

  /** The concurrency limit in force and how often throttling cut it (for metrics and tests). */
  get concurrency(): { limit: number; max: number; inFlight: number; queued: number; cuts: number } {
    const l = this.limiter;
    return { limit: l.limit, max: l.max, inFlight: l.inFlight, queued: l.queued, cuts: l.cuts };
  }

  async head(key: string): Promise<ObjectInfo> {
    validateKey(key, 'head');
    return this.call('head', key, async () => {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), this.readTimeout);
      return infoFrom(key, out, out.ContentLength ?? 0);
    });
  }

  /**
   * Streams an object. The body resumes by itself after a reset (a ranged GET of the rest,
   * pinned to the ETag of the first response), up to the retry policy's attempts.
   */
  async get(key: string, opts: GetOptions = {}): Promise<GetStreamResult> {
    const res = await this.getOnce(key, opts);
    if (res.contentLength === 0) return res;
    const start = res.range?.start ?? 0;
    const body = resumableBody(res.body, {
      start, end: start + res.contentLength - 1, etag: res.info.etag, maxResumes: this.cfg.policy.maxAttempts - 1,
      reopen: async (from, end, etag) => (await this.getOnce(key, { range: { start: from, end }, ifMatch: etag })).body,
      onResume: (offset, err) => log.debug('resuming GET', { key, offset, error: (err as Error).message }),
    });
    return { ...res, body };
  }

  private async getOnce(key: string, opts: GetOptions): Promise<GetStreamResult> {
    validateKey(key, 'get');
    validateRange(opts.range, 'get', key);
    return this.call('get', key, async () => {
      const release = await this.limiter.acquire(); // held until the body is consumed or destroyed
      try {
        const out = await this.client.send(this.getCommand(key, opts), this.readTimeout);
        const body = out.Body as Readable;
        body.once('close', release).once('end', release).once('error', release);
        return { ...getInfo(key, out), body };
      } catch (err) {
        release();
        throw err;
      }
    }, true);
  }

  async getBuffer(key: string, opts: GetOptions = {}): Promise<GetBufferResult> {
    validateKey(key, 'get');
    validateRange(opts.range, 'get', key);
    // Reading the body inside the attempt means a reset mid-body is retried like any other.
    return this.call('get', key, async () => {
      const out = await this.client.send(this.getCommand(key, opts), this.readTimeout);
      const bytes = await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
      // A view, not a copy: a large read's parts are megabytes each, and every copy is GC work.
      const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const res = getInfo(key, out);
      if (data.length !== res.contentLength) throw Object.assign(new Error(`short body: ${data.length} of ${res.contentLength} bytes`), { code: 'ECONNRESET' });
      return { ...res, data };
    });
  }

  private getCommand(key: string, opts: GetOptions): GetObjectCommand {
    return new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      Range: opts.range ? `bytes=${opts.range.start}-${opts.range.end}` : undefined,
      IfMatch: this.formatIfMatch(opts.ifMatch, 'quoted'), // RGW and S3 both accept the quoted form on reads
    });
  }

  async list(opts: ListOptions): Promise<ListResult> {
    const maxKeys = validateMaxKeys(opts.maxKeys, 'list');
    return this.call('list', opts.prefix, async () => {
      const out = await this.client.send(new ListObjectsV2Command({
        Bucket: this.bucket, Prefix: opts.prefix || undefined, Delimiter: opts.delimiter || undefined,
        ContinuationToken: opts.continuationToken, MaxKeys: maxKeys, StartAfter: opts.startAfter,
      }), this.readTimeout);
      return {
        objects: (out.Contents ?? []).map((o) => ({
          key: o.Key ?? '', size: o.Size ?? 0, etag: stripEtagQuotes(o.ETag ?? ''), lastModified: o.LastModified ?? new Date(0),
        })),
        commonPrefixes: (out.CommonPrefixes ?? []).map((p) => p.Prefix ?? ''),
        nextContinuationToken: out.IsTruncated ? out.NextContinuationToken : undefined,
      };
    });
  }

  async put(key: string, body: Body, opts: PutOptions = {}): Promise<{ etag: string }> {
    validateKey(key, 'put');
    const metadata = normalizeMetadata(opts.metadata, 'put', key);
    const conditional = opts.ifMatch !== undefined || opts.ifNoneMatch !== undefined;
    if (conditional && !this.capabilities.conditionalWrites) await this.checkTarget('put', key, opts);
    return this.call('put', key, async ({ attempt }) => {
      try {
        const out = await this.client.send(new PutObjectCommand({
          Bucket: this.bucket, Key: key, Body: sdkBody(body), ContentLength: body.length,
          Metadata: metadata, ContentType: opts.contentType,
          IfMatch: this.capabilities.conditionalWrites ? this.formatIfMatch(opts.ifMatch) : undefined,
          IfNoneMatch: this.capabilities.conditionalWrites ? opts.ifNoneMatch : undefined,
        }));
        return { etag: stripEtagQuotes(out.ETag ?? '') };
      } catch (err) {
        if (!conditional) throw err;
        // A retry of a conditional write whose earlier attempt landed fails its own condition.
        if (attempt > 1 && (isPreconditionFailure(err) || isNotFound(err))) {
          const landed = await this.findOwnWrite(key, body, metadata);
          if (landed) return { etag: landed };
        }
        // RGW answers 412 for If-Match on a missing key, S3 answers 404: both are a failed condition.
        if (opts.ifMatch !== undefined && isNotFound(err)) throw new PreconditionFailedError('object no longer exists', { operation: 'put', key });
        throw err;
      }
    });
  }

  /** The ETag of `key` if it holds exactly this body and metadata (our own earlier attempt). */
  private async findOwnWrite(key: string, body: Body, metadata: Record<string, string>): Promise<string | undefined> {
    const info = await this.headInAttempt(key);
    if (!info || info.size !== body.length || !isMd5Etag(info.etag)) return undefined;
    if (info.etag !== (await md5OfBody(body))) return undefined;
    const sameMeta = JSON.stringify(sortedEntries(info.metadata)) === JSON.stringify(sortedEntries(metadata));
    return sameMeta ? info.etag : undefined;
  }

  /**
   * A HEAD inside an attempt that already holds a concurrency slot (taking a second slot could
   * deadlock a full limiter); no retries of its own: a failure fails the attempt.
   */
  private async headInAttempt(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), this.readTimeout);
      return infoFrom(key, out, out.ContentLength ?? 0);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Best-effort condition check with a HEAD, for servers that ignore conditional headers. */
  private async checkTarget(operation: string, key: string, cond: { ifMatch?: string; ifNoneMatch?: '*' }): Promise<void> {
    const current = await this.head(key).catch((err) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    if (cond.ifNoneMatch === '*' && current) throw new PreconditionFailedError('object exists', { operation, key });
    if (cond.ifMatch !== undefined && current?.etag !== stripEtagQuotes(cond.ifMatch)) {
      throw new PreconditionFailedError(current ? 'object changed' : 'object no longer exists', { operation, key });
    }
  }

  async createMultipartUpload(key: string, opts: CreateMultipartOptions = {}): Promise<{ uploadId: string }> {
    validateKey(key, 'createMultipartUpload');
    const metadata = normalizeMetadata(opts.metadata, 'createMultipartUpload', key);
    return this.call('createMultipartUpload', key, async () => {
      const out = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, Metadata: metadata, ContentType: opts.contentType }));
      if (!out.UploadId) throw new ObjectStoreError('no UploadId in response', { operation: 'createMultipartUpload', key });
      return { uploadId: out.UploadId };
    });
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Body): Promise<{ etag: string }> {
    validateKey(key, 'uploadPart');
    validatePartNumber(partNumber, 'uploadPart', key);
    return this.call('uploadPart', key, async () => {
      const out = await this.client.send(new UploadPartCommand({
        Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: sdkBody(body), ContentLength: body.length,
      }));
      return { etag: stripEtagQuotes(out.ETag ?? '') };
    });
  }

  async uploadPartCopy(key: string, uploadId: string, partNumber: number, sourceKey: string, opts: UploadPartCopyOptions = {}): Promise<{ etag: string }> {
    validateKey(key, 'uploadPartCopy');
    validateKey(sourceKey, 'uploadPartCopy');
    validatePartNumber(partNumber, 'uploadPartCopy', key);
    validateRange(opts.range, 'uploadPartCopy', key);
    const sourceIfMatch = this.capabilities.copySourceIfMatch ? this.formatIfMatch(opts.sourceIfMatch, 'quoted') : undefined;
    if (opts.sourceIfMatch !== undefined && !sourceIfMatch) await this.checkSource('uploadPartCopy', sourceKey, opts.sourceIfMatch);
    return this.call('uploadPartCopy', key, async () => {
      const out = await this.client.send(new UploadPartCopyCommand({
        Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, CopySource: this.copySource(sourceKey),
        CopySourceRange: opts.range ? `bytes=${opts.range.start}-${opts.range.end}` : undefined, CopySourceIfMatch: sourceIfMatch,
      }));
      return { etag: stripEtagQuotes(out.CopyPartResult?.ETag ?? '') };
    });
  }

  async completeMultipartUpload(key: string, uploadId: string, parts: CompletedPart[], opts: CompleteMultipartOptions = {}): Promise<{ etag: string }> {
    validateKey(key, 'completeMultipartUpload');
    const native = this.capabilities.conditionalMultipartComplete;
    const conditional = opts.ifMatch !== undefined || opts.ifNoneMatch !== undefined;
    if (conditional && !native) await this.checkTarget('completeMultipartUpload', key, opts);
    const expected = multipartEtag(parts.map((p) => stripEtagQuotes(p.etag)));
    return this.call('completeMultipartUpload', key, async ({ attempt }) => {
      try {
        const out = await this.client.send(new CompleteMultipartUploadCommand({
          Bucket: this.bucket, Key: key, UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${stripEtagQuotes(p.etag)}"` })) },
          IfMatch: native ? this.formatIfMatch(opts.ifMatch) : undefined, IfNoneMatch: native ? opts.ifNoneMatch : undefined,
        }));
        const etag = stripEtagQuotes(out.ETag ?? '');
        // RGW returns an empty ETag here; the parts tell what it is, else ask.
        return { etag: etag || expected || (await this.headInAttempt(key))?.etag || '' };
      } catch (err) {
        // The upload is gone on a retry when our earlier attempt completed it.
        if (attempt > 1 && expected && (isNotFound(err) || isPreconditionFailure(err))) {
          const info = await this.headInAttempt(key);
          if (info?.etag === expected) return { etag: expected };
        }
        throw err;
      }
    });
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    validateKey(key, 'abortMultipartUpload');
    await this.call('abortMultipartUpload', key, async () => {
      try {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
      } catch (err) {
        if (!isNotFound(err)) throw err; // NoSuchUpload: already aborted or completed
      }
    });
  }

  async copy(sourceKey: string, destKey: string, opts: CopyOptions = {}): Promise<{ etag: string }> {
    validateKey(sourceKey, 'copy');
    validateKey(destKey, 'copy');
    const replace = opts.metadata !== undefined || opts.contentType !== undefined;
    const metadata = replace ? normalizeMetadata(opts.metadata, 'copy', destKey) : undefined;
    const native = this.capabilities.copySourceIfMatch;
    if (opts.ifMatch !== undefined && !native) await this.checkSource('copy', sourceKey, opts.ifMatch);
    const etag = await this.call('copy', destKey, async () => {
      const out = await this.client.send(new CopyObjectCommand({
        Bucket: this.bucket, Key: destKey, CopySource: this.copySource(sourceKey),
        MetadataDirective: replace ? 'REPLACE' : 'COPY', Metadata: metadata, ContentType: opts.contentType,
        CopySourceIfMatch: native ? this.formatIfMatch(opts.ifMatch, 'quoted') : undefined,
      }));
      return stripEtagQuotes(out.CopyObjectResult?.ETag ?? '');
    });
    // Without native support, a changed single-part source still shows in the copy's ETag.
    const wanted = opts.ifMatch !== undefined ? stripEtagQuotes(opts.ifMatch) : undefined;
    if (wanted && !native && isMd5Etag(wanted) && isMd5Etag(etag) && etag !== wanted) {
      throw new PreconditionFailedError('source changed during the copy (destination holds the newer source)', { operation: 'copy', key: sourceKey });
    }
    return { etag };
  }

  private async checkSource(operation: string, sourceKey: string, ifMatch: string): Promise<void> {
    const info = await this.head(sourceKey);
    if (info.etag !== stripEtagQuotes(ifMatch)) throw new PreconditionFailedError('source changed', { operation, key: sourceKey });
  }

  private copySource(key: string): string {
    return `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  async delete(key: string): Promise<void> {
    validateKey(key, 'delete');
    await this.call('delete', key, async () => {
      try {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
  }

  async deleteMany(keys: string[]): Promise<DeleteError[]> {
    for (const key of keys) validateKey(key, 'deleteMany');
    const failed: DeleteError[] = [];
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const out = await this.call('deleteMany', batch[0], () =>
        this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })),
      );
      for (const e of out.Errors ?? []) {
        if (e.Code === 'NoSuchKey') continue;
        const fake = { Code: e.Code, name: e.Code, $metadata: { httpStatusCode: e.Code === 'AccessDenied' ? 403 : e.Code === 'InternalError' ? 500 : 400 } };
        const kind = e.Code === 'InternalError' ? 'transient' : e.Code === 'SlowDown' ? 'throttle' : 'fatal';
        const mapped = toDomainError(fake, kind, { operation: 'deleteMany', key: e.Key }, this.cfg.secrets, 1);
        failed.push({ key: e.Key ?? '', error: mapped.name, message: mapped.message });
      }
    }
    return failed;
  }

  destroy(): void {
    this.client.destroy();
  }
}
