// Runs a suite against both ObjectStore implementations: FolderStore in a temporary folder, and
// S3Store on the run's shared Ceph RADOS Gateway (one fresh bucket per suite; skipped with
// S3FILES_SKIP_S3=1, see ceph-rgw.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderStore } from '../../pkg/s3/folder-store';
import type { ObjectStore } from '../../pkg/s3/object-store';
import { S3Store } from '../../pkg/s3/s3-store';
import { skipS3, useSharedRgw } from './ceph-rgw';

export interface StoreSetup {
  store: ObjectStore;
  cleanup(): Promise<void>;
}

/**
 * Calls `suite` once per store. `bucketPrefix` names the RGW bucket (plus a timestamp) so that
 * a failed run's leftovers show which suite made them.
 */
export function forBothStores(bucketPrefix: string, suite: (name: string, setup: () => Promise<StoreSetup>) => void): void {
  suite('FolderStore', async () => {
    const dir = await mkdtemp(join(tmpdir(), `s3files-${bucketPrefix}-`));
    const store = await FolderStore.open(dir);
    return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
  });
  if (skipS3()) return;
  const rgw = useSharedRgw();
  suite('S3Store on Ceph RGW', async () => {
    const gw = await rgw();
    const bucket = `${bucketPrefix}-${Date.now().toString(36)}`;
    await gw.createBucket(bucket);
    const store = new S3Store({
      bucket, endpoint: gw.endpoint, region: gw.region, forcePathStyle: true,
      credentials: { accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey },
    });
    await store.detectCapabilities();
    return { store, cleanup: async () => store.destroy() };
  });
}
