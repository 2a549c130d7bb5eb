// The reconciler suite (test/support/reconcile-suite.ts) against both object stores: FolderStore
// in a temporary folder, and S3Store on a real Ceph RADOS Gateway (TESTING.md; one gateway for
// the whole run, S3FILES_SKIP_S3=1 skips it).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderStore } from '../../pkg/s3/folder-store';
import { S3Store } from '../../pkg/s3/s3-store';
import { skipS3, useSharedRgw } from '../support/ceph-rgw';
import { reconcileSuite } from '../support/reconcile-suite';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

reconcileSuite('FolderStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 's3files-folder-'));
  const store = await FolderStore.open(dir);
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

if (!skipS3()) {
  const rgw = useSharedRgw();
  reconcileSuite('S3Store on Ceph RGW', async () => {
    const gw = await rgw();
    const bucket = `reconcile-${Date.now().toString(36)}`;
    await gw.createBucket(bucket);
    const store = new S3Store({
      bucket, endpoint: gw.endpoint, region: gw.region, forcePathStyle: true,
      credentials: { accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey },
    });
    await store.detectCapabilities();
    return { store, cleanup: async () => store.destroy() };
  });
}
