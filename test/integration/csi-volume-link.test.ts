// The CSI node plugin's volumes linked to a real S3 server (Ceph RGW): NfsVolumeExports with its
// real S3Store factory, credentials from node-stage secrets (parsed as NodeStageVolume does),
// an object put before staging read through the volume, a file written right before
// NodeUnstageVolume in the bucket when releaseExport returns, and the gRPC codes a new stage
// answers for a missing bucket, refused credentials and an endpoint nobody answers.
// Skipped with S3FILES_SKIP_S3=1, like the other RGW suites.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { toGrpcStatus } from '../../pkg/csi/errors';
import { NfsVolumeExports } from '../../pkg/csi/nfs-volume-exports';
import { parseCredentials, Secret } from '../../pkg/csi/params';
import type { ExportSpec } from '../../pkg/csi/volume-exports';
import { exportNameFor } from '../../pkg/csi/volume-id';
import { S3Store } from '../../pkg/s3/s3-store';
import { rgwStore, skipS3, useSharedRgw, type CephRgw } from '../support/ceph-rgw';
import { mkdirs, quietLog, readFile, writeFile } from '../support/linked-fs';

const rgw = skipS3() ? undefined : useSharedRgw(); // top level: one gateway for the whole run

(skipS3() ? describe.skip : describe)('integration: CSI node volumes linked to Ceph RGW', function () {
  this.timeout(120_000);
  let gw: CephRgw;
  let store: S3Store;
  let dir: string;
  let exports: NfsVolumeExports;
  const bucket = `csi-${Date.now().toString(36)}`;

  const secrets = (): Record<string, string> => ({ [Secret.accessKeyId]: gw.accessKeyId, [Secret.secretAccessKey]: gw.secretAccessKey });
  const spec = (volumeId: string, over: Partial<ExportSpec['location']> = {}, sec = secrets()): ExportSpec => ({
    volumeId,
    location: { bucket, prefix: 'volumes/pvc-1', endpoint: gw.endpoint, forcePathStyle: true, region: gw.region, ...over },
    options: { syncDelayMs: 3_600_000 },
    credentials: parseCredentials(sec),
  });
  const stageError = async (s: ExportSpec) => toGrpcStatus(await exports.ensureExport(s).then(() => undefined, (e: unknown) => e));

  before(async () => {
    gw = await rgw!();
    await gw.createBucket(bucket);
    store = rgwStore(gw, bucket);
    dir = await mkdtemp(path.join(os.tmpdir(), 'csi-volume-link-'));
    exports = await NfsVolumeExports.start({ cacheDir: dir, host: '127.0.0.1', port: 0, logger: quietLog, unstageSyncTimeoutMs: 60_000 });
  });
  after(async () => {
    await exports?.close();
    store?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stage with node-stage secrets: an object put before shows; a file written just before unstage is in the bucket when it returns', async () => {
    const before = randomBytes(200_000);
    await store.put('volumes/pvc-1/pre/put-before.bin', before);
    const s = spec(`v1:${bucket}:volumes/pvc-1`);
    await exports.ensureExport(s);
    const fs = exports.linkedExport(exportNameFor(s.volumeId))?.fs;
    assert.ok(fs);
    assert.ok((await readFile(fs, 'pre/put-before.bin')).equals(before));
    const written = randomBytes(6 * 1024 * 1024 + 3); // multipart on the way up
    await mkdirs(fs, 'out');
    await writeFile(fs, 'out/written.bin', written);
    await exports.releaseExport(s.volumeId);
    const got = await store.getBuffer('volumes/pvc-1/out/written.bin');
    assert.ok(got.data.equals(written), `${got.data.length} bytes in the bucket, want ${written.length}`);
    assert.equal(Number(got.info.metadata.mode) & 0o170000, 0o100000);
    assert.deepEqual(await exports.syncStatus(), []);
  });

  it('[error] a bucket that does not exist: NOT_FOUND (the volume does not exist)', async () => {
    const st = await stageError(spec('v1:no-such-bucket-s3f:p', { bucket: 'no-such-bucket-s3f' }));
    assert.equal(st.code, grpcStatus.NOT_FOUND, st.details);
    assert.match(st.details, /bucket no-such-bucket-s3f does not exist/);
  });

  it('[error] refused credentials: PERMISSION_DENIED, and the secret is nowhere in the message', async () => {
    const wrong = { [Secret.accessKeyId]: gw.accessKeyId, [Secret.secretAccessKey]: 'not-the-secret-key-0123456789abcdefghij' };
    const st = await stageError(spec(`v1:${bucket}:volumes/denied`, { prefix: 'volumes/denied' }, wrong));
    assert.equal(st.code, grpcStatus.PERMISSION_DENIED, st.details);
    assert.ok(!st.details.includes('not-the-secret-key'), st.details);
    assert.deepEqual(await exports.syncStatus(), []);
  });

  it('[error] an endpoint nobody answers: UNAVAILABLE (kubelet retries)', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const st = await stageError(spec(`v1:${bucket}:volumes/down`, { prefix: 'volumes/down', endpoint: `http://127.0.0.1:${port}` }));
    assert.equal(st.code, grpcStatus.UNAVAILABLE, st.details);
  });
});
