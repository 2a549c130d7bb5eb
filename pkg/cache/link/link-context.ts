// Everything a cache file system linked to a bucket has beyond a local one: the remote source,
// the block maps, the fetcher (lazy content), the importer (lazy listings), the evictor, and the
// bookkeeping of uploads in flight that the reconciler runs through sync-api.ts.
import type { FsCore } from '../core/core';
import type { LinkedPart } from '../core/linked-part';
import { BlockMaps } from './block-maps';
import { Evictor } from './evictor';
import { Fetcher } from './fetcher';
import { Importer } from './importer';
import type { Mutation } from '../meta/mutation';
import { desiredKey } from './paths';
import { DEFAULT_IMPORT_CONCURRENCY, DEFAULT_IMPORT_MEMORY_BYTES, ImportQueue } from './import-queue';
import { checkImportRules, type ImportRule } from './import-rules';
import { isDirKey, type LinkOptions, type RemoteSource, type VolumeDefaults } from './remote';
import { localOnly, type RemoteState } from '../meta/remote-state';
import { DEFAULT_REMOTE_WAIT_MS } from './remote-wait';
import { Streamer } from './streamer';
import type { LinkView, UploadWatch } from './link-view';
import { WalkAhead } from './walk-ahead';
import type { BudgetMember } from './cache-budget';

const MiB = 1024 * 1024;

export type { UploadWatch } from './link-view';

export class LinkContext implements LinkView, LinkedPart {
  readonly source: RemoteSource;
  readonly linkId: string;
  readonly dirTtlMs: number;
  readonly remoteWaitMs: number;
  readonly blockSize: number;
  readonly readAheadBytes: number;
  readonly importRules: ImportRule[];
  readonly importConcurrency: number;
  readonly importMemoryBytes: number;
  private readonly ownCacheSize: number;
  private readonly budget?: BudgetMember;
  readonly defaults: VolumeDefaults;
  readonly nowMs: () => number;
  readonly blocks: BlockMaps;
  readonly fetcher: Fetcher;
  readonly importer: Importer;
  readonly evictor: Evictor;
  readonly streamer: Streamer;
  readonly imports: ImportQueue;
  readonly walkAhead: WalkAhead;
  readonly uploads = new Map<number, UploadWatch>();
  /**
   * Keys an upload of the inode was sent to and not recorded (in flight, or failed after the
   * server may have stored it). noteStrays makes them durable before the inode moves away.
   */
  private readonly unrecorded = new Map<number, Set<string>>();
  /**
   * Inodes queued when the cache was opened: a process before this one may have uploaded one
   * to its key (the same as now, nothing moved since) and died before recording it.
   */
  private readonly queuedAtOpen: Set<number>;

  /** The most cached file data to keep now: the cache's own size, or its share of a shared budget. */
  get cacheSizeBytes(): number {
    return Math.min(this.ownCacheSize, this.budget?.limit() ?? Number.MAX_SAFE_INTEGER);
  }

  constructor(
    readonly core: FsCore,
    opts: LinkOptions,
  ) {
    this.source = opts.source;
    this.linkId = opts.linkId;
    this.dirTtlMs = opts.dirTtlMs ?? 30_000;
    this.remoteWaitMs = opts.remoteWaitMs ?? DEFAULT_REMOTE_WAIT_MS;
    this.blockSize = opts.blockSize ?? MiB;
    if (!Number.isInteger(this.blockSize) || this.blockSize < 4096 || this.blockSize % 4096 !== 0) {
      throw new RangeError(`block size ${this.blockSize} must be a positive multiple of 4096`);
    }
    this.readAheadBytes = opts.readAheadBytes ?? 16 * MiB;
    const prefetchBytes = opts.prefetchBytes ?? 0;
    this.importRules = checkImportRules(opts.importRules ?? (prefetchBytes > 0 ? [{ prefix: '', sizeLessThan: prefetchBytes + 1, trigger: 'directory' }] : []));
    this.importConcurrency = Math.max(1, Math.floor(opts.importConcurrency ?? DEFAULT_IMPORT_CONCURRENCY));
    this.importMemoryBytes = Math.max(1, opts.importMemoryBytes ?? DEFAULT_IMPORT_MEMORY_BYTES);
    this.ownCacheSize = opts.cacheSizeBytes ?? Number.MAX_SAFE_INTEGER;
    this.budget = opts.cacheBudget?.join(() => core.inodes.memoryUsed);
    this.defaults = { uid: 0, gid: 0, fileMode: 0o644, dirMode: 0o755, ...opts.defaults };
    this.nowMs = opts.nowMs ?? Date.now;
    this.blocks = new BlockMaps(core.store, this.blockSize);
    this.fetcher = new Fetcher(core, this);
    this.importer = new Importer(core, this);
    this.evictor = new Evictor(core, this);
    this.streamer = new Streamer(core, this);
    this.imports = new ImportQueue(core, this);
    this.walkAhead = new WalkAhead(core, this);
    this.queuedAtOpen = new Set(core.store.pending.getKeys({}));
    core.onChange((ino, kind) => {
      // Any change to the data, here or from the bucket, ends a stream of the old bytes.
      if (kind === 'data' || kind === 'removed') this.streamer.close(ino);
      if (kind === 'removed') {
        this.unrecorded.delete(ino);
        this.queuedAtOpen.delete(ino);
        this.imports.forget(ino);
        this.blocks.forget(ino);
        this.fetcher.forget(ino);
        this.evictor.forget(ino);
      }
    });
  }

  remoteOf(ino: number): RemoteState | undefined {
    return this.core.store.remote.get(ino);
  }

  /** A size change: uploads in flight must not claim bytes past the smallest size seen. */
  noteSize(ino: number, size: number): void {
    const w = this.uploads.get(ino);
    if (w && size < w.minSize) w.minSize = size;
  }

  beginUpload(ino: number, size: number, key?: string): UploadWatch {
    const existing = this.uploads.get(ino);
    if (existing) throw new Error(`inode ${ino} is already being uploaded`);
    if (key !== undefined && this.remoteOf(ino)?.key !== key) {
      const keys = this.unrecorded.get(ino) ?? new Set<string>();
      keys.add(key);
      this.unrecorded.set(ino, keys);
    }
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const w: UploadWatch = {
      key,
      minSize: size,
      done,
      finish: () => {
        if (this.uploads.get(ino) === w) this.uploads.delete(ino);
        finish();
      },
    };
    this.uploads.set(ino, w);
    return w;
  }

  /**
   * Inside the transaction of a rename or unlink, before `ino` loses its name: the keys where an
   * unrecorded upload of it may be (see `unrecorded`, `queuedAtOpen`) become RemoteState.strays,
   * so that they are cleaned up even if this process dies before the next upload is recorded.
   */
  noteStrays(m: Mutation, ino: number): void {
    const keys = new Set(this.unrecorded.get(ino));
    if (this.queuedAtOpen.delete(ino)) {
      const key = desiredKey(m.store, this.core.inodes, ino); // the name it had when the process died
      if (key !== undefined) keys.add(key);
    }
    if (keys.size === 0) return;
    const rs = m.store.remote.get(ino) ?? localOnly();
    const strays = new Set(rs.strays);
    for (const k of keys) if (k !== rs.key && !isDirKey(k)) strays.add(k);
    if (strays.size !== (rs.strays?.length ?? 0)) m.store.remote.putSync(ino, { ...rs, strays: Array.from(strays) });
  }

  /**
   * An upload of `ino` is being recorded: returns (and forgets) the keys where earlier ones may
   * have landed unrecorded, for the recording transaction to tombstone.
   */
  recorded(ino: number): string[] {
    const keys = Array.from(this.unrecorded.get(ino) ?? []);
    this.unrecorded.delete(ino);
    this.queuedAtOpen.delete(ino);
    return keys;
  }

  /**
   * For the periodic flush: block maps changed without a record change (fetches) are written
   * too, once their fetched data is on disk, so that presence is never durable before the data
   * it vouches for. Returns the inodes to persist besides `alreadyDirty`.
   */
  async blockMapsToSave(alreadyDirty: number[]): Promise<number[]> {
    const skip = new Set(alreadyDirty);
    const out: number[] = [];
    for (const ino of this.blocks.changedInodes()) {
      if (!skip.has(ino) && !this.core.inodes.get(ino)) {
        this.blocks.forget(ino);
        continue;
      }
      try {
        if (this.core.data.needsSync(ino)) await this.core.data.sync(ino);
      } catch (err) {
        this.core.log.warn('could not sync fetched data; its presence is not recorded yet', { ino, err: String(err) });
        continue;
      }
      if (!skip.has(ino)) out.push(ino);
    }
    return out;
  }

  close(): void {
    this.importer.close();
    this.imports.close();
    this.budget?.leave();
    this.evictor.stop();
    this.streamer.closeAll();
  }
}
