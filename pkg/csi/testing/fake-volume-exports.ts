// FakeVolumeExports: the node's NFS cache server as the CSI node service sees it, in memory,
// for the gRPC tests. Each export gets the path the real implementation would give it;
// `released` lists volumes whose data the fake "synced" on release. `ready` is settable so
// Probe can be tested; `failOn` makes an operation throw and `gate` holds one until released.
import type { ExportAddress, ExportSpec, VolumeExports, VolumeStats } from '../volume-exports';
import { exportNameFor } from '../volume-id';

export type ExportOperation = 'ensureExport' | 'releaseExport' | 'stats';

export class FakeVolumeExports implements VolumeExports {
  isReady = true;
  readonly exported = new Map<string, ExportSpec>();
  readonly released: string[] = [];
  readonly failOn = new Map<ExportOperation, Error>();
  /** Resolve-later gates per operation; the operation waits for the promise. */
  readonly gate = new Map<ExportOperation, Promise<void>>();
  volumeStats: VolumeStats = { totalBytes: 10 * 2 ** 30, usedBytes: 2 ** 30, availableBytes: 9 * 2 ** 30, totalInodes: 1000, usedInodes: 10, freeInodes: 990 };

  constructor(readonly port = 20490) {}

  ready(): boolean {
    return this.isReady;
  }

  async ensureExport(spec: ExportSpec): Promise<ExportAddress> {
    await this.gate.get('ensureExport');
    this.maybeFail('ensureExport');
    if (!this.exported.has(spec.volumeId)) this.exported.set(spec.volumeId, spec);
    return { host: '127.0.0.1', port: this.port, path: `/${exportNameFor(spec.volumeId)}` };
  }

  async releaseExport(volumeId: string): Promise<void> {
    this.maybeFail('releaseExport');
    if (this.exported.delete(volumeId)) this.released.push(volumeId);
  }

  async stats(volumeId: string): Promise<VolumeStats | undefined> {
    this.maybeFail('stats');
    return this.exported.has(volumeId) ? this.volumeStats : undefined;
  }

  private maybeFail(op: ExportOperation): void {
    const err = this.failOn.get(op);
    if (err) throw err;
  }
}
