// The cache's RemoteSource (pkg/cache/link/remote.ts) over an ObjectStore: ListObjectsV2 with
// delimiter '/' (all pages) for a directory, HEAD for the attributes of entries that are new or
// changed (object metadata, decoded by object-meta.ts; a symlink's target is its body), and
// ranged GETs pinned to an ETag for contents.
//
// An entry is HEADed when it is new, its ETag changed, its LastModified changed with the same
// ETag (a metadata-only change: a copy onto itself), or its attributes were never read.
// Policy: at most `headLimit` HEADs while listing (default 0), `headConcurrency` at a time;
// entries past it are marked attributesPending with the listing's size and LastModified and the
// volume's defaults, and the cache reads them right after, many at once and the ones a client
// asks for first (pkg/cache/import-queue.ts): through describe() (a HEAD), or readObject() (a
// GET of a small file, whose response carries the same metadata: no HEAD at all). A listing
// thus answers after its LIST pages alone.
// Keys that cannot be names are skipped and counted; a file and a directory of the same name
// show as the directory (as Mountpoint for S3 does).
import type { ListHints, RemoteEntry, RemoteListing, RemoteSource } from '../cache';
import { attributesUnread, RemoteGoneError, RemoteUnavailableError } from '../cache';
import { logger, type Logger } from '../log/logger';
import { Foreground } from './foreground';
import { InvalidRangeError, NotFoundError, PreconditionFailedError, ThrottledError, TransientError } from '../s3/errors';
import { listAll, type ObjectInfo, type ObjectStore } from '../s3/object-store';
import type { KeyMap } from './key-map';
import { nameProblem } from './key-map';
import { dateToTimestamp, decodeMetadata, type MetadataStyle } from './object-meta';
import { forEachLimit } from './pool';

const MAX_SYMLINK_BYTES = 4096;

export interface ObjectSourceOptions {
  headLimit?: number;
  headConcurrency?: number;
  /**
   * Directories (keys ending in '/') to leave out of the listings of their parents: the old and
   * new names of a directory move in progress, and a removed directory whose objects are still
   * being deleted. Its objects are still (or already) in the bucket, but the name is not there
   * locally, and importing it would bring back a ghost.
   */
  hidden?: (dirKey: string) => boolean;
  /** Counts the listings in flight (what a client's `ls` or first LOOKUP waits for), which background work yields to. */
  foreground?: Foreground;
  log?: Logger;
  /** The keys the export writes, read first when an object carries several sets (object-meta.ts). */
  metadataStyle?: MetadataStyle;
}

interface Pending {
  entry: RemoteEntry;
  /** The object to HEAD (a directory's marker). */
  key: string;
  marker: boolean;
}

export class ObjectStoreSource implements RemoteSource {
  private readonly headLimit: number;
  private readonly headConcurrency: number;
  private readonly log: Logger;
  private readonly foreground: Foreground;
  /** Objects and bytes read, for metrics. */
  headRequests = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly keys: KeyMap,
    private readonly opts: ObjectSourceOptions = {},
  ) {
    this.headLimit = opts.headLimit ?? 0;
    this.headConcurrency = opts.headConcurrency ?? 16;
    this.log = opts.log ?? logger('reconcile');
    this.foreground = opts.foreground ?? new Foreground();
  }

  listDirectory(dirKey: string, hints: ListHints): Promise<RemoteListing> {
    return unavailableAsSuch(this.foreground.run(() => this.list(dirKey, hints)));
  }

  private async list(dirKey: string, hints: ListHints): Promise<RemoteListing> {
    const prefix = this.keys.toS3(dirKey);
    const listedAt = dateToTimestamp(new Date());
    const entries = new Map<string, RemoteEntry>();
    let skipped = 0;
    let self: RemoteEntry | undefined;
    for await (const page of listAll(this.store, { prefix, delimiter: '/' })) {
      for (const o of page.objects) {
        const name = o.key.slice(prefix.length);
        const entry: RemoteEntry = { name, type: 'file', size: o.size, etag: o.etag, mtime: dateToTimestamp(o.lastModified), modifiedMs: o.lastModified.getTime() };
        if (name === '') self = { ...entry, type: 'dir', size: 0 };
        else if (nameProblem(name)) skipped++;
        else if (entries.has(name)) skipped++; // a directory of that name came first
        else entries.set(name, entry);
      }
      for (const p of page.commonPrefixes) {
        const name = p.slice(prefix.length, -1);
        if (this.opts.hidden?.(`${dirKey}${name}/`)) continue;
        if (nameProblem(name)) {
          skipped++;
          continue;
        }
        if (entries.has(name)) skipped++; // the file is shadowed by the directory
        entries.set(name, { name, type: 'dir', size: 0, mtime: listedAt });
      }
    }
    const todo: Pending[] = [];
    for (const entry of entries.values()) {
      const isDir = entry.type === 'dir';
      const rkey = `${dirKey}${entry.name}${isDir ? '/' : ''}`;
      if (attributesUnread(entry, hints.known(rkey))) todo.push({ entry, key: this.keys.toS3(rkey), marker: isDir });
    }
    if (self && attributesUnread(self, hints.known(dirKey))) todo.unshift({ entry: self, key: prefix, marker: true });
    if (todo.length > this.headLimit) {
      if (this.headLimit > 0) this.log.info('large listing: attributes of the rest are read later', { dirKey, changed: todo.length, headLimit: this.headLimit });
      for (const t of todo.slice(this.headLimit)) t.entry.attributesPending = true;
    }
    const gone = new Set<RemoteEntry>();
    await forEachLimit(todo.slice(0, this.headLimit), this.headConcurrency, async (t) => {
      if (!(await this.fill(t))) gone.add(t.entry);
    });
    const list = Array.from(entries.values()).filter((e) => !gone.has(e));
    return { entries: list, self: self && !gone.has(self) ? self : undefined, skipped };
  }

  async describe(rkey: string): Promise<RemoteEntry | undefined> {
    const marker = rkey.endsWith('/');
    const name = (marker ? rkey.slice(0, -1) : rkey).split('/').pop() ?? '';
    const key = this.keys.toS3(rkey);
    const entry: RemoteEntry = { name, type: marker ? 'dir' : 'file', size: 0, mtime: dateToTimestamp(new Date()) };
    return unavailableAsSuch((async () => ((await this.fill({ entry, key, marker })) && entry.described ? entry : undefined))());
  }

  /** Fills in attributes from a HEAD (and a symlink's target). False if the object is gone. */
  private async fill(t: Pending): Promise<boolean> {
    let info;
    try {
      this.headRequests++;
      info = await this.store.head(t.key);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      if (!t.marker || t.entry.name === '') return false;
      t.entry.described = true; // an implicit directory: no marker, nothing more to read
      return true;
    }
    const e = t.entry;
    describeFrom(e, info, t.marker, this.opts.metadataStyle);
    if (e.type === 'symlink') {
      if (info.size === 0 || info.size > MAX_SYMLINK_BYTES) e.type = 'file';
      else {
        const body = await this.store.getBuffer(t.key, { ifMatch: info.etag }).catch((err: unknown) => {
          if (err instanceof NotFoundError || err instanceof PreconditionFailedError) return undefined;
          throw err;
        });
        if (!body) return false;
        e.target = body.data.toString('utf8');
        e.etag = body.info.etag;
      }
      if (e.type === 'file') e.size = info.size;
    }
    return true;
  }

  async readObject(rkey: string, etag: string): Promise<{ entry: RemoteEntry; data: Buffer } | undefined> {
    const key = this.keys.toS3(rkey);
    let got;
    try {
      got = await unavailableAsSuch(this.store.getBuffer(key, { ifMatch: etag }));
    } catch (err) {
      if (err instanceof NotFoundError || err instanceof PreconditionFailedError) return undefined;
      throw err;
    }
    const name = rkey.split('/').pop() ?? '';
    const entry: RemoteEntry = { name, type: 'file', size: got.info.size, etag: got.info.etag, mtime: dateToTimestamp(got.info.lastModified) };
    describeFrom(entry, got.info, false, this.opts.metadataStyle);
    if (entry.type === 'symlink') {
      if (got.data.length === 0 || got.data.length > MAX_SYMLINK_BYTES) entry.type = 'file';
      else entry.target = got.data.toString('utf8');
    }
    if (entry.type === 'file') entry.size = got.info.size;
    return { entry, data: got.data };
  }

  async readRange(rkey: string, etag: string, offset: number, length: number): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    try {
      const res = await this.store.getBuffer(this.keys.toS3(rkey), { range: { start: offset, end: offset + length - 1 }, ifMatch: etag });
      return res.data;
    } catch (err) {
      if (err instanceof NotFoundError || err instanceof PreconditionFailedError || err instanceof InvalidRangeError) {
        throw new RemoteGoneError(rkey, 'object changed or vanished', { cause: err });
      }
      throw err;
    }
  }
}

/** Fills `e` (described) from an object's info: type, mode, owner, mtime from its metadata. */
function describeFrom(e: RemoteEntry, info: ObjectInfo, marker: boolean, style: MetadataStyle | undefined): void {
  const a = decodeMetadata(info.metadata, style);
  e.described = true;
  e.modifiedMs ??= info.lastModified.getTime();
  if (!marker && e.etag === undefined) e.size = info.size; // describe(): no listing behind it
  if (marker || e.etag === undefined) e.etag = info.etag;
  if (!marker && a.type && a.type !== 'dir') e.type = a.type;
  if (a.mode !== undefined) e.mode = a.mode;
  if (a.uid !== undefined) e.uid = a.uid;
  if (a.gid !== undefined) e.gid = a.gid;
  e.mtime = a.mtime ?? dateToTimestamp(info.lastModified);
  if (e.type !== 'file' && e.type !== 'dir') e.size = 0;
}

/** Unreachable or throttled once the store's retries ran out: RemoteUnavailableError (retryable). */
async function unavailableAsSuch<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof TransientError || err instanceof ThrottledError) throw new RemoteUnavailableError(err.message, { cause: err });
    throw err;
  }
}
