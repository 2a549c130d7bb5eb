// VolumeExports over the node's NfsServer: each staged volume is one export whose file system
// is a cache file system (pkg/cache) in <cacheDir>/volumes/<export name>.
//
// NOT YET LINKED TO S3. Until the S3 link (pkg/s3 + pkg/reconcile) is wired in here, an export
// is a local cache only: nothing is imported from the bucket and nothing is uploaded to it.
// releaseExport therefore only flushes the file system to the node's disk and keeps it there
// (it is served again when the volume is staged again); it does not claim to sync. The
// location and credentials are recorded so that the S3 link can use them.
//
// Exports survive a restart of the node plugin: the list of exported volumes (without
// secrets) is kept in <cacheDir>/csi/exports.json and credentials from node-stage secrets in
// <cacheDir>/csi/credentials/<export>.json (mode 0600, on the node's own disk, like the kernel
// keeps the mount), and start() serves them all again before it reports ready, so kernel NFS
// mounts of running pods resume with the same file handles.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openCacheFileSystem } from '../cache';
import { logger as makeLogger, type Logger } from '../log/logger';
import { NfsServer } from '../nfs/server';
import type { FileSystem } from '../vfs';
import type { S3Defaults } from './bucket-access';
import type { S3Credentials, S3Location, VolumeOptions } from './params';
import type { SyncStatusSource, VolumeSyncStatus } from './sync-status';
import type { ExportAddress, ExportSpec, VolumeExports, VolumeStats } from './volume-exports';
import { exportNameFor } from './volume-id';

export interface OpenFileSystemOptions {
  dir: string;
  capacityBytes?: number;
  defaultOwner?: { uid: number; gid: number; mode: number };
  logger?: Logger;
}

export interface NfsVolumeExportsOptions {
  /** The node's cache directory (hostPath on the node's NVMe). */
  cacheDir: string;
  /** Where the NFS server listens: loopback, on a port that does not clash with a host NFS server. */
  host: string;
  port: number;
  /** Applied to volumes whose ID and context name no region/endpoint (static PVs). */
  s3Defaults?: S3Defaults;
  logger?: Logger;
  /** For tests: how a volume's file system is opened (default: pkg/cache). */
  openFileSystem?: (options: OpenFileSystemOptions) => Promise<FileSystem>;
}

interface ExportRecord {
  volumeId: string;
  location: S3Location;
  options: VolumeOptions;
}

export class NfsVolumeExports implements VolumeExports, SyncStatusSource {
  private readonly records = new Map<string, ExportRecord>();
  private readonly log: Logger;
  private readonly open: (options: OpenFileSystemOptions) => Promise<FileSystem>;
  private isReady = false;
  private address: { host: string; port: number };

  private constructor(
    private readonly server: NfsServer,
    private readonly options: NfsVolumeExportsOptions,
  ) {
    this.log = options.logger ?? makeLogger('csi-exports');
    this.open = options.openFileSystem ?? ((o) => openCacheFileSystem({ ...o, logger: o.logger ?? makeLogger('cache') }));
    this.address = { host: options.host, port: options.port };
  }

  /** Creates the NFS server, serves the volumes exported before a restart, then listens. */
  static async start(options: NfsVolumeExportsOptions): Promise<NfsVolumeExports> {
    const server = await NfsServer.create({ stateDir: options.cacheDir, logger: options.logger });
    const exports = new NfsVolumeExports(server, options);
    await exports.restore();
    const bound = await server.listen(options.host, options.port);
    exports.address = { host: options.host, port: bound.port };
    exports.isReady = true;
    exports.log.info('nfs server ready', { host: options.host, port: bound.port, volumes: exports.records.size });
    return exports;
  }

  ready(): boolean {
    return this.isReady;
  }

  async ensureExport(spec: ExportSpec): Promise<ExportAddress> {
    const name = exportNameFor(spec.volumeId);
    if (!this.records.has(spec.volumeId)) {
      const record: ExportRecord = { volumeId: spec.volumeId, location: this.withDefaults(spec.location), options: spec.options };
      await this.writeCredentials(name, spec.credentials);
      await this.serve(record);
      this.records.set(spec.volumeId, record);
      await this.persist();
    }
    return { host: this.address.host, port: this.address.port, path: `/${name}` };
  }

  /**
   * Stops serving the volume; closing the file system makes everything written durable on the
   * node's disk. (With the S3 link, this is where it waits for the upload of dirty data, or
   * keeps it on disk if S3 is unreachable.) The cache directory is kept.
   */
  async releaseExport(volumeId: string): Promise<void> {
    if (!this.records.has(volumeId)) return;
    const name = exportNameFor(volumeId);
    await this.server.removeExport(name);
    this.records.delete(volumeId);
    await this.persist();
    await rm(this.credentialsPath(name), { force: true });
    this.log.info('volume export released', { volumeId, export: name });
  }

  async stats(volumeId: string): Promise<VolumeStats | undefined> {
    const exp = this.records.has(volumeId) ? this.server.exports.byName(exportNameFor(volumeId)) : undefined;
    if (!exp) return undefined;
    const s = await exp.fs.fsstat(exp.fs.rootIno);
    return {
      totalBytes: s.totalBytes,
      usedBytes: Math.max(0, s.totalBytes - s.freeBytes),
      availableBytes: s.availableBytes,
      totalInodes: s.totalFiles,
      usedInodes: Math.max(0, s.totalFiles - s.freeFiles),
      freeInodes: s.freeFiles,
    };
  }

  /**
   * The sync state of each volume, for S3FileSystem status. Nothing yet: until the S3 link is
   * wired in, no volume syncs to S3, and reporting "0 dirty bytes" would claim it does.
   */
  async syncStatus(): Promise<VolumeSyncStatus[]> {
    return [];
  }

  /** Stops the NFS server and flushes every export; the records stay for the next start. */
  async close(): Promise<void> {
    this.isReady = false;
    await this.server.close();
  }

  private async serve(record: ExportRecord): Promise<void> {
    const name = exportNameFor(record.volumeId);
    const o = record.options;
    const fs = await this.open({
      dir: path.join(this.options.cacheDir, 'volumes', name),
      capacityBytes: o.capacityBytes,
      defaultOwner: o.uid !== undefined || o.gid !== undefined || o.dirMode !== undefined ? { uid: o.uid ?? 0, gid: o.gid ?? 0, mode: o.dirMode ?? 0o755 } : undefined,
    });
    this.server.addExport(name, fs, {});
    this.log.info('volume exported', { volumeId: record.volumeId, export: name, bucket: record.location.bucket, prefix: record.location.prefix, s3Linked: false });
  }

  private async restore(): Promise<void> {
    let saved: ExportRecord[] = [];
    try {
      saved = JSON.parse(await readFile(this.recordsPath(), 'utf8')) as ExportRecord[];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const record of saved) {
      await this.serve(record);
      this.records.set(record.volumeId, record);
    }
  }

  private async persist(): Promise<void> {
    const file = this.recordsPath();
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(`${file}.tmp`, JSON.stringify([...this.records.values()], null, 2));
    await rename(`${file}.tmp`, file);
  }

  private async writeCredentials(name: string, credentials: S3Credentials | undefined): Promise<void> {
    const file = this.credentialsPath(name);
    if (!credentials) {
      await rm(file, { force: true });
      return;
    }
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, JSON.stringify(credentials), { mode: 0o600 });
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

  private recordsPath(): string {
    return path.join(this.options.cacheDir, 'csi', 'exports.json');
  }

  private credentialsPath(name: string): string {
    return path.join(this.options.cacheDir, 'csi', 'credentials', `${name}.json`);
  }
}
