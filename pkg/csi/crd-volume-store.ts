// VolumeStore over S3FileSystem custom resources: the controller's record of each volume it
// created lives in the cluster, so CreateVolume tells a retry from a conflicting request
// (ALREADY_EXISTS) across controller restarts and replicas, not only within one process.
//
// The resource is named after the CO's volume name (resourceNameForVolume), so get() is one
// GET; deleteByVolumeId() finds records by the volume-id-hash label.
import type * as k8s from '@kubernetes/client-node';
import { alreadyExists } from './errors';
import { newS3FileSystem, resourceNameForVolume, type S3FileSystem } from './kube/s3filesystem';
import { S3FileSystemClient } from './kube/s3filesystem-client';
import { sameVolumeRecord, type VolumeRecord, type VolumeStore } from './volume-store';

function recordOf(obj: S3FileSystem): VolumeRecord {
  return {
    name: obj.spec.volumeName ?? '',
    volumeId: obj.spec.volumeId,
    capacityBytes: obj.spec.capacityBytes ?? 0,
    volumeContext: { ...(obj.spec.volumeContext ?? {}) },
  };
}

export class CrdVolumeStore implements VolumeStore {
  private readonly client: S3FileSystemClient;

  constructor(kubeConfig: k8s.KubeConfig) {
    this.client = new S3FileSystemClient(kubeConfig);
  }

  async get(name: string): Promise<VolumeRecord | undefined> {
    const obj = await this.client.get(resourceNameForVolume(name));
    // A record of another name under the same resource name would be a hash collision or an
    // object someone else made: not ours either way.
    return obj && obj.spec?.volumeName === name ? recordOf(obj) : undefined;
  }

  /**
   * Creates the S3FileSystem of the volume. If it exists already (a second controller, or a
   * response lost after the create) it must hold the same record; otherwise ALREADY_EXISTS.
   */
  async put(record: VolumeRecord): Promise<void> {
    const obj = newS3FileSystem(resourceNameForVolume(record.name), record.volumeId, {
      volumeName: record.name,
      volumeContext: { ...record.volumeContext },
      ...(record.capacityBytes > 0 ? { capacityBytes: record.capacityBytes } : {}),
    });
    if (await this.client.create(obj)) return;
    const existing = await this.get(record.name);
    if (existing && sameVolumeRecord(existing, record)) return;
    throw alreadyExists(`volume ${record.name} already exists with different parameters or capacity`);
  }

  async deleteByVolumeId(volumeId: string): Promise<void> {
    // Every record of the ID, the one a node made for a static volume too: the volume is gone.
    for (const obj of await this.client.listByVolumeId(volumeId)) await this.client.delete(obj.metadata.name);
  }
}
