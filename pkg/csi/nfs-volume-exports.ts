// VolumeExports over the node's NfsServer: each staged volume is one export whose file system
// is a cache (pkg/cache, in <cacheDir>/volumes/<export name>) linked to the volume's
// bucket/prefix through pkg/reconcile, exactly as `s3files serve` links its exports: objects
// are imported lazily, changes are uploaded by the volume's reconciler (linked-volume.ts).
//
// Life of a volume on a node:
// - NodeStageVolume (ensureExport): a new volume's bucket is checked first (missing bucket →
//   NOT_FOUND, refused credentials → PERMISSION_DENIED, S3 out of reach → UNAVAILABLE), then
//   its cache is opened and exported. A local cache of the volume from an older s3files (not
//   linked) is linked on this first open and everything in it is queued for upload.
// - NodeUnstageVolume (releaseExport): the export stops being served, then the call waits up to
//   unstageSyncTimeoutMs for the reconciler to get every change into S3, and closes the volume.
//   If S3 is out of reach or slower than that, it still returns OK: the data is safe on the
//   node's disk, and the node keeps the volume open (not exported) and syncs it in the
//   background until it is clean, after a restart of the plugin too ("draining"). kubelet
//   would otherwise retry Unstage forever and hold up the pod's teardown for an outage of S3
//   that the node can ride out on its own; S3FileSystem status shows the dirty bytes meanwhile.
//   Staging the volume again while it drains serves the same open cache.
// - Plugin restart (start → restore): every volume of <cacheDir>/csi/exports.json is opened from
//   its cache without any request to S3 and served (or drained) again before the plugin reports
//   ready, so kernel NFS mounts of running pods resume with the same file handles even while S3
//   is down; the reconcilers retry on their own. Credentials from node-stage secrets are kept
//   0600 under <cacheDir>/csi/credentials/ for this (export-records.ts).
import path from 'node:path';
import { describeError, logger as makeLogger, type Logger } from '../log/logger';
import { NfsServer } from '../nfs/server';
import type { LinkedExport } from '../reconcile';
import type { S3Defaults } from './bucket-access';
import { ExportRecords, type ExportRecord } from './export-records';
import { LinkedVolume, s3VolumeStore, type NodeLinkSettings, type VolumeStoreFactory } from './linked-volume';
import type { S3Credentials, S3Location } from './params';
import type { SyncStatusSource, VolumeSyncStatus } from './sync-status';
import type { ExportAddress, ExportSpec, VolumeExports, VolumeStats } from './volume-exports';
import type { VolumeFreshness, VolumeQueue } from './volume-freshness';
import { collectOrphans, removeIfInBucket, volumesDir } from './volume-dirs';
import { exportNameFor } from './volume-id';

export interface NfsVolumeExportsOptions {
  /** The node's cache directory (hostPath on the node's NVMe). */
  cacheDir: string;
  /** Where the NFS server listens: loopback, on a port that does not clash with a host NFS server. */
  host: string;
  port: number;
  /** Applied to volumes whose ID and context name no region/endpoint (static PVs). */
  s3Defaults?: S3Defaults;
  /**
   * How long NodeUnstageVolume waits for the volume's changes to reach S3 before it returns
   * with the rest kept on disk and synced in the background (default 60 s; kubelet gives the
   * call about 2 minutes).
   */
  unstageSyncTimeoutMs?: number;
  link?: NodeLinkSettings;
  logger?: Logger;
  /** Bucket events and other nodes' notices for the volumes (volume-freshness.ts). */
  freshness?: VolumeFreshness;
  /** For tests: how a volume's object store is made (default: an S3Store). */
  storeFactory?: VolumeStoreFactory;
}

interface Volume {
  record: ExportRecord;
  name: string;
  /** Undefined when the cache could not be opened at a restore (openError says why). */
  linked?: LinkedVolume;
  openError?: string;
  /** Bumped at every change of state, so that an older drain loop stops. */
  generation: number;
  /** While draining: resolves true once drained and closed, false if staged again or shut down. */
  drained?: Promise<boolean>;
  /** While draining: resolves once all that can reach S3 did (files too long for it may stay). */
  settled?: Promise<void>;
}

/** One drain() call of the background loop; short, so that a shutdown does not wait long for it. */
const DRAIN_ROUND_MS = 10_000;
/** How often a wait for S3 (unstage, background drain) logs how far it is. */
const PROGRESS_LOG_MS = 30_000;
/** A drained volume kept open (files too long for S3) checks again this often. */
const DRAIN_IDLE_MS = 5_000;

export class NfsVolumeExports implements VolumeExports, SyncStatusSource {
  private readonly volumes = new Map<string, Volume>();
  /** Cache directories of volumes no record names, kept because they hold data not in S3. */
  private readonly orphans = new Map<string, string>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly records: ExportRecords;
  private readonly log: Logger;
  private readonly storeFactory: VolumeStoreFactory;
  private isReady = false;
  private closing = false;
  private address: { host: string; port: number };

  private constructor(
    private readonly server: NfsServer,
    private readonly options: NfsVolumeExportsOptions,
  ) {
    this.log = options.logger ?? makeLogger('csi-exports');
    this.records = new ExportRecords(options.cacheDir);
    this.storeFactory = options.storeFactory ?? s3VolumeStore;
    this.address = { host: options.host, port: options.port };
  }

  /** Creates the NFS server, serves (or drains) the volumes held before a restart, then listens. */
  static async start(options: NfsVolumeExportsOptions): Promise<NfsVolumeExports> {
    const server = await NfsServer.create({ stateDir: options.cacheDir, logger: options.logger });
    const exports = new NfsVolumeExports(server, options);
    await exports.restore();
    const bound = await server.listen(options.host, options.port);
    exports.address = { host: options.host, port: bound.port };
    exports.isReady = true;
    exports.log.info('nfs server ready', { host: options.host, port: bound.port, volumes: exports.volumes.size });
    return exports;
  }

  ready(): boolean {
    return this.isReady;
  }

  /** Serves the volume; a repeat is a no-op, a volume that is draining is served again as it is. */
  async ensureExport(spec: ExportSpec): Promise<ExportAddress> {
    const name = exportNameFor(spec.volumeId);
    await this.serial(spec.volumeId, async () => {
      const known = this.volumes.get(spec.volumeId);
      if (known?.linked && !known.record.draining) return;
      if (known?.linked) {
        known.generation++;
        delete known.record.draining;
        await this.records.writeCredentials(name, spec.credentials);
        this.server.addExport(name, known.linked.fs, {});
        await this.persist();
        this.log.info('volume exported again while it was draining', { volumeId: spec.volumeId, export: name });
        return;
      }
      this.orphans.delete(name); // staged again: its cache is opened and synced as usual
      const record: ExportRecord = { volumeId: spec.volumeId, location: this.withDefaults(spec.location), options: spec.options };
      const linked = await LinkedVolume.open({ ...this.volumeSettings(record, name), credentials: spec.credentials, verify: true });
      try {
        await this.records.writeCredentials(name, spec.credentials);
        this.volumes.set(spec.volumeId, { record, name, linked, generation: 0 });
        await this.persist();
      } catch (err) {
        this.volumes.delete(spec.volumeId);
        await linked.close();
        throw err;
      }
      this.server.addExport(name, linked.fs, {});
      this.options.freshness?.attach(spec.volumeId, name, record.location.bucket, linked.linked, queueOf(record, spec.credentials));
      this.log.info('volume exported', { volumeId: spec.volumeId, export: name, bucket: record.location.bucket, prefix: record.location.prefix, endpoint: record.location.endpoint ?? null });
    });
    return { host: this.address.host, port: this.address.port, path: `/${name}` };
  }

  /**
   * Stops serving the volume, then waits up to unstageSyncTimeoutMs for its changes to be in S3
   * and closes it. Returns OK after the wait either way: what is not in S3 yet is on the node's
   * disk and keeps syncing in the background (see the header). Idempotent; a repeat while the
   * volume drains waits again.
   */
  async releaseExport(volumeId: string): Promise<void> {
    const v = await this.serial(volumeId, async () => {
      const known = this.volumes.get(volumeId);
      if (!known) return undefined;
      if (!known.record.draining) {
        known.generation++;
        known.record.draining = true;
        // The kernel mount is gone already (NodeUnstageVolume unmounts first); closing the
        // cache is the drain loop's job, so the export is only taken out of the table.
        this.server.exports.remove(known.name);
        await this.persist();
        // A volume whose cache could not be opened stays recorded: the next start tries again.
        if (known.linked) this.startDrain(known);
      }
      return known;
    });
    if (!v?.drained) return;
    const timeout = this.options.unstageSyncTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const progress = setInterval(() => this.logProgress(v, 'unstaging: waiting for changes to reach S3'), PROGRESS_LOG_MS).unref();
    this.logProgress(v, 'unstaging: waiting for changes to reach S3');
    const settled = v.settled?.then(() => true as const) ?? new Promise<never>(() => undefined);
    const done = await Promise.race([v.drained, settled, new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeout).unref()))]);
    clearTimeout(timer);
    clearInterval(progress);
    if (!done) {
      const s = v.linked?.syncStatus();
      this.log.warn('volume unstaged before all of its changes reached S3: they are kept on the node and synced in the background', { volumeId, dirtyBytes: s?.dirtyBytes, error: s?.error, waitedMs: timeout });
    }
  }

  async stats(volumeId: string): Promise<VolumeStats | undefined> {
    const v = this.volumes.get(volumeId);
    if (!v?.linked || v.record.draining) return undefined;
    const s = await v.linked.fs.fsstat(v.linked.fs.rootIno);
    return {
      totalBytes: s.totalBytes,
      usedBytes: Math.max(0, s.totalBytes - s.freeBytes),
      availableBytes: s.availableBytes,
      totalInodes: s.totalFiles,
      usedInodes: Math.max(0, s.totalFiles - s.freeFiles),
      freeInodes: s.freeFiles,
    };
  }

  /** Every volume the node holds data of: staged, draining, or recorded but not openable. */
  async syncStatus(): Promise<VolumeSyncStatus[]> {
    const fresh = this.options.freshness;
    return [...this.volumes.values()].map((v) =>
      v.linked ? { ...v.linked.syncStatus(), ...(fresh ? { notifyUrl: fresh.notifyUrl(v.name) } : {}) } : { volumeId: v.record.volumeId, dirtyBytes: 0, error: `the volume's cache on this node could not be opened: ${v.openError}` },
    );
  }

  /** For the node's status endpoint: each volume's state and sync queue, by volume ID. */
  describe(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, reason] of this.orphans) out[`orphan:${name}`] = { state: 'orphan', dir: this.cacheDirOf(name), notInBucket: reason };
    for (const v of this.volumes.values()) {
      const state = v.record.draining ? 'draining' : 'staged';
      out[v.record.volumeId] = v.linked
        ? { export: v.name, state, location: v.record.location, ...v.linked.linked.reconciler.status() }
        : { export: v.name, state, location: v.record.location, error: v.openError };
    }
    return out;
  }

  /** The linked export behind an export name (as in the mount source), for `s3files status PATH`. */
  linkedExport(exportName: string): LinkedExport | undefined {
    for (const v of this.volumes.values()) if (v.name === exportName) return v.linked?.linked;
    return undefined;
  }

  /**
   * Shutdown: stops the reconcilers (what is queued stays queued on disk), the NFS server, then
   * closes every cache. The records stay, draining ones included, for the next start.
   */
  async close(): Promise<void> {
    this.isReady = false;
    this.closing = true;
    // A release that is closing a volume and removing its directory finishes first.
    await Promise.allSettled([...this.queues.values()]);
    const open = [...this.volumes.values()].filter((v) => v.linked);
    for (const v of open) v.generation++;
    for (const v of open) await this.options.freshness?.detach(v.name);
    for (const v of open) this.logProgress(v, 'shutting down: what is not in S3 stays queued on disk and resumes at the next start');
    // The NFS port first, so that it is free while running uploads finish (the caller bounds
    // how long that may take).
    await this.server.stopServing();
    for (const v of open) await v.linked?.linked.reconciler.stop();
    await this.server.close();
    for (const v of open) await v.linked?.close();
  }

  private startDrain(v: Volume): void {
    const gen = v.generation;
    const linked = v.linked as LinkedVolume;
    let lastLog = Date.now();
    let settle!: () => void;
    v.settled = new Promise<void>((resolve) => (settle = resolve));
    v.drained = (async () => {
      while (v.generation === gen && !this.closing) {
        try {
          await linked.drain(DRAIN_ROUND_MS);
        } catch (err) {
          if (Date.now() - lastLog >= PROGRESS_LOG_MS) {
            lastLog = Date.now();
            this.logProgress(v, 'draining: changes still to reach S3', { err: describeError(err) });
          }
          await new Promise((r) => setTimeout(r, 1000).unref());
          continue;
        }
        if (await this.serial(v.record.volumeId, () => this.closeDrained(v, gen))) return true;
        // Everything that can reach S3 did; what is left (too long for S3) waits for a rename.
        settle();
        await new Promise((r) => setTimeout(r, DRAIN_IDLE_MS).unref());
      }
      return false;
    })();
  }

  /** One line of progress for a volume with changes not in S3 yet (nothing when it is clean). */
  private logProgress(v: Volume, message: string, extra: Record<string, unknown> = {}): void {
    if (!v.linked) return;
    const s = v.linked.linked.reconciler.status();
    if (v.linked.isClean(s)) return;
    const uploading = s.uploading.slice(0, 5).map((u) => `${u.key} ${u.doneBytes}/${u.size}`);
    this.log.info(message, { volumeId: v.record.volumeId, pendingFiles: s.pendingFiles, pendingBytes: s.pendingBytes, deletions: s.tombstones, uploading, ...extra });
  }

  /** Closes and forgets a volume that drained, unless it was staged again (or the plugin stops). */
  private async closeDrained(v: Volume, gen: number): Promise<boolean> {
    // Files too long for S3 never reach it: the volume stays open (and reported) until renamed.
    if (v.generation !== gen || this.closing || !v.linked) return false;
    const s = v.linked.linked.reconciler.status();
    if (!v.linked.isClean(s) || s.unsyncable > 0) return false;
    // The record goes first, then the volume leaves the status: who sees it gone sees it unrecorded.
    await this.records.save([...this.volumes.values()].filter((o) => o !== v).map((o) => o.record));
    this.volumes.delete(v.record.volumeId);
    await this.options.freshness?.detach(v.name);
    await v.linked.close();
    await this.records.removeCredentials(v.name);
    this.log.info('volume released: every change is in S3', { volumeId: v.record.volumeId, export: v.name });
    await removeIfInBucket(this.cacheDirOf(v.name), this.log, { volumeId: v.record.volumeId });
    return true;
  }

  private async restore(): Promise<void> {
    const records = await this.records.load();
    const { removed, kept } = await collectOrphans(this.options.cacheDir, new Set(records.map((r) => exportNameFor(r.volumeId))), this.log);
    for (const name of removed) await this.records.removeCredentials(name);
    for (const [name, reason] of kept) this.orphans.set(name, reason);
    for (const record of records) {
      const name = exportNameFor(record.volumeId);
      const v: Volume = { record, name, generation: 0 };
      this.volumes.set(record.volumeId, v);
      let credentials: S3Credentials | undefined;
      try {
        credentials = await this.records.readCredentials(name);
        v.linked = await LinkedVolume.open({ ...this.volumeSettings(record, name), credentials, verify: false });
      } catch (err) {
        // One volume's broken cache must not keep the node's other volumes from being served.
        v.openError = describeError(err);
        this.log.error('could not open the cache of a volume; it is retried at the next stage or start', { volumeId: record.volumeId, err: v.openError });
        continue;
      }
      this.options.freshness?.attach(record.volumeId, name, record.location.bucket, v.linked.linked, queueOf(record, credentials));
      if (record.draining) this.startDrain(v);
      else this.server.addExport(name, v.linked.fs, {});
      this.log.info('volume restored', { volumeId: record.volumeId, export: name, draining: record.draining === true });
    }
  }

  private volumeSettings(record: ExportRecord, name: string) {
    return {
      volumeId: record.volumeId,
      location: record.location,
      options: record.options,
      cacheDir: this.cacheDirOf(name),
      storeFactory: this.storeFactory,
      link: this.options.link,
      logger: this.log,
    };
  }

  private cacheDirOf(name: string): string {
    return path.join(volumesDir(this.options.cacheDir), name);
  }

  /** Runs fn after every earlier call for the same volume (stage, unstage and drain ends). */
  private serial<T>(volumeId: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(volumeId) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => undefined);
    this.queues.set(volumeId, tail);
    void tail.then(() => {
      if (this.queues.get(volumeId) === tail) this.queues.delete(volumeId);
    });
    return run;
  }

  private async persist(): Promise<void> {
    await this.records.save([...this.volumes.values()].map((v) => v.record));
  }

  private withDefaults(location: S3Location): S3Location {
    const d = this.options.s3Defaults ?? {};
    return {
      ...location,
      ...(location.region === undefined && d.region ? { region: d.region } : {}),
      ...(location.endpoint === undefined && d.endpoint ? { endpoint: d.endpoint } : {}),
      ...(location.forcePathStyle === undefined && d.forcePathStyle !== undefined ? { forcePathStyle: d.forcePathStyle } : {}),
    };
  }
}

/** The volume's SQS queue of bucket events (StorageClass eventQueueUrl), read with its credentials. */
function queueOf(record: ExportRecord, credentials: S3Credentials | undefined): VolumeQueue | undefined {
  const queueUrl = record.options.eventQueueUrl;
  if (!queueUrl) return undefined;
  return { queueUrl, ...(record.location.region ? { region: record.location.region } : {}), ...(credentials ? { credentials } : {}) };
}
