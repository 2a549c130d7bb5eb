// What the controller remembers about the volumes it created, keyed by the CO's volume name,
// so that CreateVolume can tell a retry (same name, same request → same volume) from a
// conflicting request (same name, different parameters or capacity → ALREADY_EXISTS).
// MemoryVolumeStore is enough for that within one controller process; after a restart a retry
// still gets the same volume because IDs are deterministic. crd-volume-store.ts keeps the
// records as S3FileSystem custom resources so that conflicts are caught across restarts too.

import { alreadyExists } from './errors';

export interface VolumeRecord {
  /** The CO's name for the volume (CreateVolumeRequest.name). */
  name: string;
  volumeId: string;
  capacityBytes: number;
  volumeContext: Record<string, string>;
}

export interface VolumeStore {
  get(name: string): Promise<VolumeRecord | undefined>;
  /**
   * Records a volume CreateVolume made. An identical record already there is fine (a retry);
   * a different one for the same name is ALREADY_EXISTS.
   */
  put(record: VolumeRecord): Promise<void>;
  /** Forgets every record of the volume; succeeds when there is none. */
  deleteByVolumeId(volumeId: string): Promise<void>;
}

export class MemoryVolumeStore implements VolumeStore {
  private readonly byName = new Map<string, VolumeRecord>();

  async get(name: string): Promise<VolumeRecord | undefined> {
    const r = this.byName.get(name);
    return r && { ...r, volumeContext: { ...r.volumeContext } };
  }

  async put(record: VolumeRecord): Promise<void> {
    const known = this.byName.get(record.name);
    if (known && !sameVolumeRecord(known, record)) {
      throw alreadyExists(`volume ${record.name} already exists with different parameters or capacity`);
    }
    this.byName.set(record.name, { ...record, volumeContext: { ...record.volumeContext } });
  }

  async deleteByVolumeId(volumeId: string): Promise<void> {
    for (const [name, r] of this.byName) if (r.volumeId === volumeId) this.byName.delete(name);
  }
}

/** Same name, ID, capacity and volume context (in any key order). */
export function sameVolumeRecord(a: VolumeRecord, b: VolumeRecord): boolean {
  const ka = Object.keys(a.volumeContext).sort();
  const kb = Object.keys(b.volumeContext).sort();
  return a.name === b.name && a.volumeId === b.volumeId && a.capacityBytes === b.capacityBytes &&
    ka.length === kb.length && ka.every((k, i) => k === kb[i] && a.volumeContext[k] === b.volumeContext[k]);
}
