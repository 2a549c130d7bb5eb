// What the controller remembers about the volumes it created, keyed by the CO's volume name,
// so that CreateVolume can tell a retry (same name, same request → same volume) from a
// conflicting request (same name, different parameters or capacity → ALREADY_EXISTS).
// MemoryVolumeStore is enough for that within one controller process; after a restart a retry
// still gets the same volume because IDs are deterministic. crd-volume-store.ts keeps the
// records as S3FileSystem custom resources so that conflicts are caught across restarts too.

export interface VolumeRecord {
  /** The CO's name for the volume (CreateVolumeRequest.name). */
  name: string;
  volumeId: string;
  capacityBytes: number;
  volumeContext: Record<string, string>;
}

export interface VolumeStore {
  get(name: string): Promise<VolumeRecord | undefined>;
  /** Creates or replaces the record of `record.name`. */
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
    this.byName.set(record.name, { ...record, volumeContext: { ...record.volumeContext } });
  }

  async deleteByVolumeId(volumeId: string): Promise<void> {
    for (const [name, r] of this.byName) if (r.volumeId === volumeId) this.byName.delete(name);
  }
}
