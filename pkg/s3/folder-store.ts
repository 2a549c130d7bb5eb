// ObjectStore over a local folder: the embedded default when no cloud is configured, and the
// in-process twin of S3Store for tests. It keeps S3's rules (ETags, conditional writes,
// pagination order, multipart limits) and is honest about durability (folder-files.ts).
// Conditional writes are atomic within this process (a per-key lock); one process owns a
// folder at a time (a LOCK file with its PID), which is how the node plugin uses it.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm, rmdir, unlink, writeFile, readFile, FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { NotFoundError, ObjectStoreError, PreconditionFailedError, InvalidRangeError } from './errors';
import { encodeTrailer, fsyncDir, HashingWriter, mkdirDurable, ObjectTrailer, readTrailer, renameDurable } from './folder-files';
import { DIR_NAME_FILE, keyToComponents } from './folder-keys';
import { listFolder } from './folder-list';
import { FolderMultipart } from './folder-multipart';
import { KeyedMutex } from './keyed-mutex';
import {
  Body, CompletedPart, CompleteMultipartOptions, CopyOptions, CreateMultipartOptions, DeleteError, GetBufferResult,
  GetOptions, GetStreamResult, ListOptions, ListResult, ObjectInfo, ObjectStore, PutOptions, StoreCapabilities,
  stripEtagQuotes, UploadPartCopyOptions,
} from './object-store';
import { normalizeMetadata, validateKey, validateRange } from './validate';

const ALL: StoreCapabilities = { uploadPartCopy: true, conditionalWrites: true, conditionalMultipartComplete: true, copySourceIfMatch: true };

/** A finished temporary file waiting to be renamed into place. */
export interface StagedObject {
  tmp: string;
  trailer: ObjectTrailer;
}

export class FolderStore implements ObjectStore {
  readonly capabilities = ALL;
  readonly objectsDir: string;
  readonly tmpDir: string;
  private readonly locks = new KeyedMutex();
  private readonly multipart: FolderMultipart<StagedObject>;

  private constructor(readonly root: string) {
    this.objectsDir = join(root, 'objects');
    this.tmpDir = join(root, 'tmp');
    this.multipart = new FolderMultipart(this, join(root, 'uploads'));
  }

  /** Opens (creating) a store folder; refuses one that a live process already holds. */
  static async open(root: string): Promise<FolderStore> {
    const store = new FolderStore(root);
    for (const d of [root, store.objectsDir, store.tmpDir, join(root, 'uploads')]) await mkdir(d, { recursive: true });
    await store.takeLock();
    // Leftovers of a crash: temporary files never renamed into place.
    for (const name of await readdir(store.tmpDir)) await rm(join(store.tmpDir, name), { force: true, recursive: true });
    return store;
  }

  private async takeLock(): Promise<void> {
    const lock = join(this.root, 'LOCK');
    const holder = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
    if (holder && holder !== process.pid && isAlive(holder)) {
      throw new ObjectStoreError(`folder is in use by process ${holder}`, { operation: 'open' });
    }
    await writeFile(lock, `${process.pid}\n`);
  }

  async detectCapabilities(): Promise<StoreCapabilities> {
    return ALL;
  }

  /** Absolute path of the file of `key`, creating its directories when `create`. */
  async pathOf(key: string, create: boolean): Promise<string> {
    const { dirs, dirSegments, file } = keyToComponents(key);
    let dir = this.objectsDir;
    for (let i = 0; i < dirs.length; i++) {
      const next = join(dir, dirs[i]!.name);
      if (create) {
        await mkdirDurable(next, dir);
        if (dirs[i]!.hashed) await writeFile(join(next, DIR_NAME_FILE), dirSegments[i]!, { flag: 'wx' }).catch(ignoreExists);
      }
      dir = next;
    }
    return join(dir, file.name);
  }

  tmpPath(): string {
    return join(this.tmpDir, randomBytes(12).toString('hex'));
  }

  /** Opens the current version of `key` (a consistent snapshot: later renames do not affect it). */
  private async openObject(key: string, operation: string): Promise<{ fh: FileHandle; trailer: ObjectTrailer } | undefined> {
    let fh: FileHandle;
    try {
      fh = await open(await this.pathOf(key, false), 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new ObjectStoreError('cannot open object file', { operation, key }, { cause: err });
    }
    try {
      return { fh, trailer: await readTrailer(fh) };
    } catch (err) {
      await fh.close();
      throw new ObjectStoreError('corrupt object file', { operation, key }, { cause: err });
    }
  }

  private async mustOpen(key: string, operation: string, ifMatch?: string) {
    const obj = await this.openObject(key, operation);
    if (!obj) throw new NotFoundError('no such key', { operation, key });
    if (ifMatch !== undefined && obj.trailer.etag !== stripEtagQuotes(ifMatch)) {
      await obj.fh.close();
      throw new PreconditionFailedError('ETag does not match', { operation, key });
    }
    return obj;
  }

  async head(key: string): Promise<ObjectInfo> {
    validateKey(key, 'head');
    const { fh, trailer } = await this.mustOpen(key, 'head');
    await fh.close();
    return infoOf(trailer);
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetStreamResult> {
    validateKey(key, 'get');
    validateRange(opts.range, 'get', key);
    const { fh, trailer } = await this.mustOpen(key, 'get', opts.ifMatch);
    let range: { start: number; end: number } | undefined;
    if (opts.range) {
      if (opts.range.start >= trailer.size) {
        await fh.close();
        throw new InvalidRangeError(`range starts at ${opts.range.start}, object has ${trailer.size} bytes`, { operation: 'get', key });
      }
      range = { start: opts.range.start, end: Math.min(opts.range.end, trailer.size - 1) };
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? trailer.size - 1;
    const contentLength = end - start + 1;
    const body = contentLength > 0 ? createReadStream('', { fd: fh, start, end, autoClose: true }) : emptyStream(fh);
    return { info: infoOf(trailer), range, contentLength, body };
  }

  async getBuffer(key: string, opts: GetOptions = {}): Promise<GetBufferResult> {
    const { body, ...rest } = await this.get(key, opts);
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    return { ...rest, data: Buffer.concat(chunks) };
  }

  async list(opts: ListOptions): Promise<ListResult> {
    return listFolder(this.objectsDir, opts);
  }

  /** Writes a body (and its trailer) to a temporary file and fsyncs it. */
  async stage(key: string, write: (w: HashingWriter) => Promise<void>, meta: Omit<ObjectTrailer, 'key' | 'etag' | 'size' | 'lastModified'>, etagOf?: (md5: string) => string): Promise<StagedObject> {
    const tmp = this.tmpPath();
    const fh = await open(tmp, 'wx');
    try {
      const w = new HashingWriter(fh);
      await write(w);
      const md5 = w.md5.digest('hex');
      const trailer: ObjectTrailer = { key, etag: etagOf ? etagOf(md5) : md5, size: w.written, lastModified: Date.now(), ...meta };
      const enc = encodeTrailer(trailer);
      await fh.write(enc, 0, enc.length, w.written);
      await fh.sync();
      return { tmp, trailer };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    } finally {
      await fh.close();
    }
  }

  /** Under the key's lock: check the conditions against the current version, then rename into place. */
  async commit(staged: StagedObject, operation: string, cond: { ifMatch?: string; ifNoneMatch?: '*' }): Promise<{ etag: string }> {
    const key = staged.trailer.key;
    try {
      await this.locks.run(key, async () => {
        if (cond.ifMatch !== undefined || cond.ifNoneMatch !== undefined) {
          const cur = await this.openObject(key, operation);
          await cur?.fh.close();
          if (cond.ifNoneMatch === '*' && cur) throw new PreconditionFailedError('object exists', { operation, key });
          if (cond.ifMatch !== undefined && cur?.trailer.etag !== stripEtagQuotes(cond.ifMatch)) {
            throw new PreconditionFailedError(cur ? 'ETag does not match' : 'object does not exist', { operation, key });
          }
        }
        // A concurrent delete may remove an emptied directory between mkdir and rename: redo.
        for (let tries = 0; ; tries++) {
          try {
            await renameDurable(staged.tmp, await this.pathOf(key, true));
            return;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || tries > 5) throw err;
          }
        }
      });
    } catch (err) {
      await rm(staged.tmp, { force: true });
      throw err;
    }
    return { etag: staged.trailer.etag };
  }

  async put(key: string, body: Body, opts: PutOptions = {}): Promise<{ etag: string }> {
    validateKey(key, 'put');
    const metadata = normalizeMetadata(opts.metadata, 'put', key);
    const staged = await this.stage(key, async (w) => {
      if (Buffer.isBuffer(body)) await w.write(body);
      else await w.writeStream(body.open());
      if (w.written !== body.length) throw new ObjectStoreError(`body had ${w.written} bytes, declared ${body.length}`, { operation: 'put', key });
    }, { metadata, contentType: opts.contentType });
    return this.commit(staged, 'put', opts);
  }

  async copy(sourceKey: string, destKey: string, opts: CopyOptions = {}): Promise<{ etag: string }> {
    validateKey(sourceKey, 'copy');
    validateKey(destKey, 'copy');
    const replace = opts.metadata !== undefined || opts.contentType !== undefined;
    const metadata = replace ? normalizeMetadata(opts.metadata, 'copy', destKey) : undefined;
    const src = await this.mustOpen(sourceKey, 'copy', opts.ifMatch);
    const meta = replace ? { metadata: metadata ?? {}, contentType: opts.contentType } : { metadata: src.trailer.metadata, contentType: src.trailer.contentType };
    let staged: StagedObject;
    try {
      staged = await this.stage(destKey, async (w) => {
        if (src.trailer.size > 0) await w.writeStream(createReadStream('', { fd: src.fh, start: 0, end: src.trailer.size - 1, autoClose: false }));
      }, meta);
    } finally {
      await src.fh.close();
    }
    return this.commit(staged, 'copy', {});
  }

  /** Reads a byte range of an object for UploadPartCopy. */
  async readRange(key: string, operation: string, opts: UploadPartCopyOptions): Promise<Buffer> {
    const { fh, trailer } = await this.mustOpen(key, operation, opts.sourceIfMatch);
    try {
      const start = opts.range?.start ?? 0;
      const end = opts.range?.end ?? trailer.size - 1;
      if (opts.range && (start >= trailer.size || end >= trailer.size)) {
        throw new InvalidRangeError(`range ${start}-${end} outside ${trailer.size} bytes`, { operation, key });
      }
      const buf = Buffer.alloc(Math.max(0, end - start + 1));
      if (buf.length) await fh.read(buf, 0, buf.length, start);
      return buf;
    } finally {
      await fh.close();
    }
  }

  async delete(key: string): Promise<void> {
    validateKey(key, 'delete');
    await this.locks.run(key, async () => {
      const path = await this.pathOf(key, false);
      try {
        await unlink(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw new ObjectStoreError('cannot remove object file', { operation: 'delete', key }, { cause: err });
      }
      // A concurrent delete of a sibling may have pruned the folder already: then it is gone.
      await fsyncDir(join(path, '..')).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      await this.pruneDirs(join(path, '..'));
    });
  }

  /** Removes directories left empty (rmdir refuses non-empty ones, so no data is at risk). */
  private async pruneDirs(dir: string): Promise<void> {
    for (let d = dir; d.length > this.objectsDir.length; d = join(d, '..')) {
      try {
        await rmdir(d);
      } catch {
        return;
      }
    }
  }

  /**
   * Like delete() for each key, but each folder is fsynced once for the whole batch (an
   * `rm -rf` through the reconciler deletes thousands of keys in few folders).
   */
  async deleteMany(keys: string[]): Promise<DeleteError[]> {
    for (const key of keys) validateKey(key, 'deleteMany');
    const errors: DeleteError[] = [];
    const folders = new Set<string>();
    for (const key of keys) {
      try {
        await this.locks.run(key, async () => {
          const path = await this.pathOf(key, false);
          try {
            await unlink(path);
            folders.add(join(path, '..'));
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new ObjectStoreError('cannot remove object file', { operation: 'deleteMany', key }, { cause: err });
          }
        });
      } catch (err) {
        errors.push({ key, error: (err as Error).name, message: (err as Error).message });
      }
    }
    for (const folder of folders) {
      await fsyncDir(folder).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      await this.pruneDirs(folder);
    }
    return errors;
  }

  createMultipartUpload(key: string, opts?: CreateMultipartOptions): Promise<{ uploadId: string }> {
    return this.multipart.create(key, opts);
  }

  uploadPart(key: string, uploadId: string, partNumber: number, body: Body): Promise<{ etag: string }> {
    return this.multipart.uploadPart(key, uploadId, partNumber, body);
  }

  uploadPartCopy(key: string, uploadId: string, partNumber: number, sourceKey: string, opts: UploadPartCopyOptions = {}): Promise<{ etag: string }> {
    return this.multipart.uploadPartCopy(key, uploadId, partNumber, sourceKey, opts);
  }

  completeMultipartUpload(key: string, uploadId: string, parts: CompletedPart[], opts: CompleteMultipartOptions = {}): Promise<{ etag: string }> {
    return this.multipart.complete(key, uploadId, parts, opts);
  }

  abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    return this.multipart.abort(key, uploadId);
  }
}

function infoOf(t: ObjectTrailer): ObjectInfo {
  return { key: t.key, size: t.size, etag: t.etag, lastModified: new Date(t.lastModified), metadata: { ...t.metadata }, contentType: t.contentType };
}

function emptyStream(fh: FileHandle): Readable {
  const s = Readable.from([]);
  s.once('close', () => void fh.close());
  return s;
}

function ignoreExists(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EEXIST') throw err;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
