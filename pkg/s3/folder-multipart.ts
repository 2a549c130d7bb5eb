// Multipart uploads of FolderStore, with S3's rules: parts 1..10000, every part but the last at
// least 5 MiB, parts listed in ascending order with their ETags, the object's ETag the MD5 of
// the part MD5s plus "-N". An upload is a folder uploads/<id>/ with upload.json and one file
// per part; completing concatenates the parts into a staged object and renames it into place.
import { randomBytes, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rm, writeFile, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, NotFoundError } from './errors';
import { multipartEtag } from './etag';
import { fsyncDir, type HashingWriter, type ObjectTrailer } from './folder-files';
import { Body, CompletedPart, CompleteMultipartOptions, CreateMultipartOptions, MIN_PART_SIZE, stripEtagQuotes, UploadPartCopyOptions } from './object-store';
import { normalizeMetadata, validateKey, validatePartNumber, validateRange } from './validate';

interface UploadRecord {
  key: string;
  metadata: Record<string, string>;
  contentType?: string;
}

/**
 * What multipart uploads use of their FolderStore, which makes them: an interface here rather
 * than an import of folder-store.ts, which imports this file. `Staged` is the store's staged
 * object, handed from stage() to commit() untouched.
 */
export interface MultipartHost<Staged> {
  tmpPath(): string;
  readRange(key: string, operation: string, opts: UploadPartCopyOptions): Promise<Buffer>;
  stage(key: string, write: (w: HashingWriter) => Promise<void>, meta: Omit<ObjectTrailer, 'key' | 'etag' | 'size' | 'lastModified'>, etagOf?: (md5: string) => string): Promise<Staged>;
  commit(staged: Staged, operation: string, cond: { ifMatch?: string; ifNoneMatch?: '*' }): Promise<{ etag: string }>;
}

export class FolderMultipart<Staged> {
  constructor(
    private readonly store: MultipartHost<Staged>,
    private readonly dir: string,
  ) {}

  private uploadDir(uploadId: string): string {
    if (!/^[0-9a-f]{32}$/.test(uploadId)) return join(this.dir, 'invalid'); // never a real upload
    return join(this.dir, uploadId);
  }

  private async record(key: string, uploadId: string, operation: string): Promise<UploadRecord> {
    const text = await readFile(join(this.uploadDir(uploadId), 'upload.json'), 'utf8').catch(() => undefined);
    const rec = text ? (JSON.parse(text) as UploadRecord) : undefined;
    if (!rec || rec.key !== key) throw new NotFoundError('no such upload', { operation, key });
    return rec;
  }

  async create(key: string, opts: CreateMultipartOptions = {}): Promise<{ uploadId: string }> {
    validateKey(key, 'createMultipartUpload');
    const metadata = normalizeMetadata(opts.metadata, 'createMultipartUpload', key);
    const uploadId = randomBytes(16).toString('hex');
    const dir = this.uploadDir(uploadId);
    await mkdir(dir);
    const rec: UploadRecord = { key, metadata, contentType: opts.contentType };
    const tmp = this.store.tmpPath();
    await writeFile(tmp, JSON.stringify(rec), { flush: true });
    await rename(tmp, join(dir, 'upload.json'));
    await fsyncDir(dir);
    return { uploadId };
  }

  /** Stores one part durably; returns its MD5 ETag. */
  private async writePart(uploadId: string, partNumber: number, write: (fh: import('node:fs/promises').FileHandle) => Promise<Buffer | void>, data?: Buffer): Promise<string> {
    const tmp = this.store.tmpPath();
    const fh = await open(tmp, 'wx');
    const hash = createHash('md5');
    try {
      if (data) {
        hash.update(data);
        await fh.writeFile(data);
      } else {
        await write(fh);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    const etag = data ? hash.digest('hex') : await md5File(tmp);
    await rename(tmp, join(this.uploadDir(uploadId), partName(partNumber)));
    await fsyncDir(this.uploadDir(uploadId));
    return etag;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Body): Promise<{ etag: string }> {
    validateKey(key, 'uploadPart');
    validatePartNumber(partNumber, 'uploadPart', key);
    await this.record(key, uploadId, 'uploadPart');
    if (Buffer.isBuffer(body)) return { etag: await this.writePart(uploadId, partNumber, async () => undefined, body) };
    const etag = await this.writePart(uploadId, partNumber, async (fh) => {
      let n = 0;
      for await (const chunk of body.open()) {
        await fh.write(chunk as Buffer);
        n += (chunk as Buffer).length;
      }
      if (n !== body.length) throw new InvalidArgumentError(`part had ${n} bytes, declared ${body.length}`, { operation: 'uploadPart', key });
    });
    return { etag };
  }

  async uploadPartCopy(key: string, uploadId: string, partNumber: number, sourceKey: string, opts: UploadPartCopyOptions): Promise<{ etag: string }> {
    validateKey(key, 'uploadPartCopy');
    validateKey(sourceKey, 'uploadPartCopy');
    validatePartNumber(partNumber, 'uploadPartCopy', key);
    validateRange(opts.range, 'uploadPartCopy', key);
    await this.record(key, uploadId, 'uploadPartCopy');
    const data = await this.store.readRange(sourceKey, 'uploadPartCopy', opts);
    return { etag: await this.writePart(uploadId, partNumber, async () => undefined, data) };
  }

  async complete(key: string, uploadId: string, parts: CompletedPart[], opts: CompleteMultipartOptions): Promise<{ etag: string }> {
    validateKey(key, 'completeMultipartUpload');
    const op = 'completeMultipartUpload';
    const rec = await this.record(key, uploadId, op);
    if (parts.length === 0) throw new InvalidArgumentError('no parts', { operation: op, key });
    for (let i = 1; i < parts.length; i++) {
      if (parts[i]!.partNumber <= parts[i - 1]!.partNumber) throw new InvalidArgumentError('InvalidPartOrder: parts must ascend', { operation: op, key });
    }
    const md5s: string[] = [];
    const staged = await this.store.stage(key, async (w) => {
      for (const [i, part] of parts.entries()) {
        const path = join(this.uploadDir(uploadId), partName(part.partNumber));
        const hash = createHash('md5');
        const before = w.written;
        try {
          for await (const chunk of createReadStream(path)) {
            hash.update(chunk as Buffer);
            await w.write(chunk as Buffer);
          }
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new InvalidArgumentError(`InvalidPart: part ${part.partNumber} was not uploaded`, { operation: op, key });
          throw err;
        }
        const md5 = hash.digest('hex');
        if (md5 !== stripEtagQuotes(part.etag)) throw new InvalidArgumentError(`InvalidPart: ETag of part ${part.partNumber} does not match`, { operation: op, key });
        if (i < parts.length - 1 && w.written - before < MIN_PART_SIZE) {
          throw new InvalidArgumentError(`EntityTooSmall: part ${part.partNumber} is under 5 MiB`, { operation: op, key });
        }
        md5s.push(md5);
      }
    }, { metadata: rec.metadata, contentType: rec.contentType }, () => multipartEtag(md5s) ?? '');
    const result = await this.store.commit(staged, op, opts);
    await rm(this.uploadDir(uploadId), { recursive: true, force: true });
    return result;
  }

  async abort(key: string, uploadId: string): Promise<void> {
    validateKey(key, 'abortMultipartUpload');
    const rec = await this.record(key, uploadId, 'abortMultipartUpload').catch(() => undefined);
    if (rec) await rm(this.uploadDir(uploadId), { recursive: true, force: true });
  }
}

function partName(n: number): string {
  return `part-${String(n).padStart(5, '0')}`;
}

async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
