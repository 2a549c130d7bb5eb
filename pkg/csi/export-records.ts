// What the node plugin keeps on the node's disk about its volumes, so that a restarted plugin
// serves and syncs the same volumes again: <cacheDir>/csi/exports.json lists every volume the
// node holds data of (staged, or unstaged and still draining to S3), without secrets;
// credentials from node-stage secrets are in <cacheDir>/csi/credentials/<export>.json, mode
// 0600 in a 0700 directory on the node's own disk (as the kernel keeps a mount's secrets).
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { S3Credentials, S3Location, VolumeOptions } from './params';

export interface ExportRecord {
  volumeId: string;
  location: S3Location;
  options: VolumeOptions;
  /**
   * True once NodeUnstageVolume returned while dirty data was not yet in S3: the volume is no
   * longer served over NFS, but is synced until clean, after a restart too. Absent in records
   * written before draining existed (they are all staged).
   */
  draining?: boolean;
}

export class ExportRecords {
  constructor(private readonly cacheDir: string) {}

  async load(): Promise<ExportRecord[]> {
    try {
      return JSON.parse(await readFile(this.listPath(), 'utf8')) as ExportRecord[];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** Replaces the list (write + rename: a crash leaves the old list or the new one). */
  async save(records: ExportRecord[]): Promise<void> {
    const file = this.listPath();
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(`${file}.tmp`, JSON.stringify(records, null, 2));
    await rename(`${file}.tmp`, file);
  }

  /** Keeps the volume's credentials, or removes them when there are none (the default chain). */
  async writeCredentials(exportName: string, credentials: S3Credentials | undefined): Promise<void> {
    const file = this.credentialsPath(exportName);
    if (!credentials) {
      await rm(file, { force: true });
      return;
    }
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(`${file}.tmp`, JSON.stringify(credentials), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }

  async readCredentials(exportName: string): Promise<S3Credentials | undefined> {
    try {
      return JSON.parse(await readFile(this.credentialsPath(exportName), 'utf8')) as S3Credentials;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async removeCredentials(exportName: string): Promise<void> {
    await rm(this.credentialsPath(exportName), { force: true });
  }

  private listPath(): string {
    return path.join(this.cacheDir, 'csi', 'exports.json');
  }

  private credentialsPath(exportName: string): string {
    return path.join(this.cacheDir, 'csi', 'credentials', `${exportName}.json`);
  }
}
