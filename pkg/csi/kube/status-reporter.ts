// The node side of S3FileSystem status: every interval, each node writes its own entry
// (dirty bytes, last sync, error) into status.nodes of each volume it holds data of, keeps the
// totals (status.dirtyBytes, lastSync, phase) current, and posts an Event when a volume's sync
// starts failing (and when it recovers), and when files conflicted (DESIGN.md decision 5: the
// bucket's version won, the node's went to .s3files-lost+found/). The numbers come through SyncStatusSource
// (../sync-status.ts), which the S3 link feeds; this module only knows how to publish them.
//
// Several nodes rewrite the same status.nodes list, so every write is a merge patch on the
// condition that the object is still at the resourceVersion it was read at; on a conflict the
// reporter reads again and retries. An entry is written only when it changed, or as a
// heartbeat every few minutes (reportedAt) so that entries of departed nodes can be told apart.
import { logger as makeLogger, type Logger } from '../../log/logger';
import { scrubSecrets, UnavailableError } from '../errors';
import type { SyncStatusSource, VolumeSyncStatus } from '../sync-status';
import type { EventRecorder } from './events';
import { API_VERSION, KIND, newS3FileSystem, resourceNameForStatic, type NodeSyncEntry, type S3FileSystem } from './s3filesystem';
import type { S3FileSystemClient, StatusPatch } from './s3filesystem-client';

export interface StatusReporterOptions {
  client: S3FileSystemClient;
  events: EventRecorder;
  nodeId: string;
  source: SyncStatusSource;
  /** How often the source is read (default 15 s). */
  intervalMs?: number;
  /** An unchanged entry is rewritten after this long (default 5 min). */
  heartbeatMs?: number;
  now?: () => Date;
  logger?: Logger;
}

const CONFLICT_RETRIES = 5;
const MAX_ERROR = 1024;

interface Reported {
  fingerprint: string;
  atMs: number;
  error?: string;
}

export class StatusReporter {
  private readonly reported = new Map<string, Reported>();
  /** volumeId → name of its S3FileSystem, once found. */
  private readonly names = new Map<string, string>();
  /** volumeId → the source's conflict count already reported in an Event. */
  private readonly conflictsReported = new Map<string, number>();
  private readonly unsyncableReported = new Map<string, number>();
  private readonly log: Logger;
  private readonly now: () => Date;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly o: StatusReporterOptions) {
    this.log = o.logger ?? makeLogger('kube-status');
    this.now = o.now ?? (() => new Date());
  }

  /** Reports now and then every intervalMs until stop(). */
  start(): void {
    const tick = (): void => {
      this.running = this.reportOnce().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.o.intervalMs ?? 15_000).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One round: every volume of the source, then the entries of volumes the node no longer holds. */
  async reportOnce(): Promise<void> {
    let volumes: VolumeSyncStatus[];
    try {
      volumes = await this.o.source.syncStatus();
    } catch (err) {
      this.log.warn('could not read the sync status of the volumes', { err: String(err) });
      return;
    }
    const seen = new Set(volumes.map((v) => v.volumeId));
    for (const v of volumes) {
      await this.reportVolume(v).catch((err: unknown) => this.log.warn('could not report volume status', { volumeId: v.volumeId, err: (err as Error).message }));
    }
    for (const volumeId of [...this.reported.keys()].filter((id) => !seen.has(id))) {
      await this.removeVolume(volumeId).catch((err: unknown) => this.log.warn('could not remove volume status', { volumeId, err: (err as Error).message }));
    }
  }

  private async reportVolume(v: VolumeSyncStatus): Promise<void> {
    const error = v.error ? scrubSecrets(v.error).slice(0, MAX_ERROR) : undefined;
    const entry: NodeSyncEntry = { node: this.o.nodeId, dirtyBytes: Math.max(0, Math.round(v.dirtyBytes)), ...(v.lastSync ? { lastSync: v.lastSync.toISOString() } : {}), ...(error ? { error } : {}), ...(v.notifyUrl ? { notifyUrl: v.notifyUrl } : {}) };
    const fingerprint = JSON.stringify(entry);
    const prev = this.reported.get(v.volumeId);
    const nowMs = this.now().getTime();
    await this.reportConflicts(v).catch((err: unknown) => this.log.warn('could not report conflicts', { volumeId: v.volumeId, err: (err as Error).message }));
    await this.reportUnsyncable(v).catch((err: unknown) => this.log.warn('could not report unsyncable files', { volumeId: v.volumeId, err: (err as Error).message }));
    if (prev && prev.fingerprint === fingerprint && nowMs - prev.atMs < (this.o.heartbeatMs ?? 300_000)) return;
    const stamped = { ...entry, reportedAt: this.now().toISOString() };
    const obj = await this.update(v.volumeId, true, (nodes) => [...nodes.filter((n) => n.node !== this.o.nodeId), stamped]);
    this.reported.set(v.volumeId, { fingerprint, atMs: nowMs, ...(error ? { error } : {}) });
    if (!obj) return;
    const ref = { apiVersion: API_VERSION, kind: KIND, name: obj.metadata.name, ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}) };
    if (error && error !== prev?.error) await this.o.events.event(ref, 'Warning', 'SyncFailed', `node ${this.o.nodeId}: ${error}`);
    if (!error && prev?.error) await this.o.events.event(ref, 'Normal', 'SyncRecovered', `node ${this.o.nodeId}: syncing to S3 works again`);
  }

  /**
   * A Warning Event when the volume's conflict count rose since the last one reported. The
   * count is the node process's own (it starts at 0 with the plugin, as does this reporter), so
   * conflicts are reported once each. Events are best-effort (events.ts); a failure to find
   * the S3FileSystem is retried at the next round.
   */
  private async reportConflicts(v: VolumeSyncStatus): Promise<void> {
    const count = v.conflicts ?? 0;
    const seen = this.conflictsReported.get(v.volumeId) ?? 0;
    if (count <= seen) {
      if (count < seen) this.conflictsReported.set(v.volumeId, count); // the volume was reopened
      return;
    }
    const obj = await this.find(v.volumeId, true);
    if (!obj) return;
    const n = count - seen;
    const ref = { apiVersion: API_VERSION, kind: KIND, name: obj.metadata.name, ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}) };
    await this.o.events.event(ref, 'Warning', 'SyncConflict',
      `node ${this.o.nodeId}: ${n} file${n === 1 ? '' : 's'} changed in the bucket while also changed on this node (${count} since the volume was opened here); ` +
      `the bucket's version was kept in place and this node's version moved to .s3files-lost+found/`);
    this.conflictsReported.set(v.volumeId, count);
  }

  /**
   * A Warning Event PathTooLong when the number of files kept on the node only because their
   * key is too long for S3 rose since the last one reported (by this process).
   */
  private async reportUnsyncable(v: VolumeSyncStatus): Promise<void> {
    const count = v.unsyncable ?? 0;
    const seen = this.unsyncableReported.get(v.volumeId) ?? 0;
    if (count <= seen) {
      if (count < seen) this.unsyncableReported.set(v.volumeId, count); // renamed to fit
      return;
    }
    const obj = await this.find(v.volumeId, true);
    if (!obj) return;
    const ref = { apiVersion: API_VERSION, kind: KIND, name: obj.metadata.name, ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}) };
    await this.o.events.event(ref, 'Warning', 'PathTooLong',
      `node ${this.o.nodeId}: ${count} file${count === 1 ? '' : 's'} or director${count === 1 ? 'y' : 'ies'} with a path too long for an S3 key (over 1,024 bytes with the volume's prefix) ` +
      `kept on this node only, not in the bucket; rename them to a shorter path and they are uploaded (s3files status PATH says which)`);
    this.unsyncableReported.set(v.volumeId, count);
  }

  private async removeVolume(volumeId: string): Promise<void> {
    await this.update(volumeId, false, (nodes) => nodes.filter((n) => n.node !== this.o.nodeId));
    this.reported.delete(volumeId);
    this.names.delete(volumeId);
    this.conflictsReported.delete(volumeId);
    this.unsyncableReported.delete(volumeId);
  }

  /**
   * Read-modify-write of status.nodes under optimistic concurrency. Returns the object as read
   * before the successful patch; undefined when there is none and `create` is false.
   */
  private async update(volumeId: string, create: boolean, edit: (nodes: NodeSyncEntry[]) => NodeSyncEntry[]): Promise<S3FileSystem | undefined> {
    for (let attempt = 0; attempt < CONFLICT_RETRIES; attempt++) {
      const obj = await this.find(volumeId, create);
      if (!obj) return undefined;
      const status = totals(obj, edit(obj.status?.nodes ?? []));
      if (await this.o.client.patchStatus(obj.metadata.name, obj.metadata.resourceVersion ?? '', status)) return obj;
      this.log.debug('status changed under us; reading it again', { volumeId, attempt });
    }
    throw new UnavailableError(`the status of volume ${volumeId} kept changing under us (${CONFLICT_RETRIES} conflicts)`);
  }

  /**
   * The volume's S3FileSystem: the one found before (fresh GET), else the one labelled with its
   * ID (the controller's record of a dynamic volume first), else, for a static volume nobody
   * recorded, a new one made from the volume ID (when `create`).
   */
  private async find(volumeId: string, create: boolean): Promise<S3FileSystem | undefined> {
    const known = this.names.get(volumeId);
    if (known) {
      const obj = await this.o.client.get(known);
      if (obj?.spec.volumeId === volumeId) return obj;
      this.names.delete(volumeId);
    }
    const listed = await this.o.client.listByVolumeId(volumeId);
    let obj: S3FileSystem | undefined = listed.find((o) => o.spec.volumeName !== undefined) ?? listed[0];
    if (!obj && create) {
      const name = resourceNameForStatic(volumeId);
      // Another node may create it at the same time: then read theirs.
      obj = (await this.o.client.create(newS3FileSystem(name, volumeId))) ?? (await this.o.client.get(name));
      this.log.info('recorded a static volume as an S3FileSystem', { volumeId, name });
    }
    if (obj) this.names.set(volumeId, obj.metadata.name);
    return obj;
  }
}

/** status with `nodes` and the totals derived from them: sum of dirty bytes, latest sync, phase. */
export function totals(obj: S3FileSystem, nodes: NodeSyncEntry[]): StatusPatch {
  const sorted = [...nodes].sort((a, b) => a.node.localeCompare(b.node));
  const dirtyBytes = sorted.reduce((sum, n) => sum + (n.dirtyBytes ?? 0), 0);
  // The latest sync ever seen: it stays when the node that made it leaves.
  const syncs = [obj.status?.lastSync, ...sorted.map((n) => n.lastSync)].filter((s): s is string => !!s);
  const lastSync = syncs.length ? syncs.reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b)) : null;
  const phase = sorted.some((n) => n.error) ? 'Error' : dirtyBytes > 0 ? 'Syncing' : 'Synced';
  return { phase, dirtyBytes, lastSync, nodes: sorted };
}
