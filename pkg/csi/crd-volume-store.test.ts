// CrdVolumeStore: the controller's volume records as S3FileSystem custom resources, through
// @kubernetes/client-node against FakeKubeApiServer (a fake at the Kubernetes API boundary:
// no API server can run here), driven by CreateVolume/DeleteVolume over the real CSI socket.
// The point: CreateVolume's idempotency and conflict detection survive a controller restart.
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { FakeKubeApiServer } from '../../test/support/fake-kube-api';
import { ControllerServer } from './controller';
import { CrdVolumeStore } from './crd-volume-store';
import { IdentityServer } from './identity';
import { resourceNameForVolume, VOLUME_ID_LABEL, volumeIdHash } from './kube/s3filesystem';
import { call, callError, CsiHarness, mountCapability, testLogger } from './testing/csi-harness';
import { FakeBucketAccess } from './testing/fake-bucket-access';

const GiB = 2 ** 30;

function createRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'pvc-1234',
    capacity_range: { required_bytes: 5 * GiB },
    volume_capabilities: [mountCapability()],
    parameters: { bucket: 'media', basePrefix: 'volumes', uid: '1000' },
    ...overrides,
  };
}

describe('CrdVolumeStore (S3FileSystem records, fake API server)', () => {
  let api: FakeKubeApiServer;
  let s3: FakeBucketAccess;
  let h: CsiHarness | undefined;

  /** A controller process: its own store and client, nothing shared with the previous one but the API server. */
  async function startController(token?: string): Promise<CsiHarness> {
    await h?.stop();
    const store = new CrdVolumeStore(api.kubeConfig(token));
    const controller = new ControllerServer({ bucketAccess: s3, store, logger: testLogger });
    h = await new CsiHarness({ identity: new IdentityServer({ ready: () => true }), controller }).start();
    return h;
  }

  beforeEach(async () => {
    api = await FakeKubeApiServer.start();
    s3 = new FakeBucketAccess().addBucket('media');
  });
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    await api.stop();
  });

  it('CreateVolume records the volume as an S3FileSystem named after the PV, with the volume context', async () => {
    const c = await startController();
    const res = await call<{ volume: { volume_id: string; volume_context: Record<string, string> } }>(c.controller, 'CreateVolume', createRequest());
    const obj = api.objects.get('pvc-1234') as Record<string, any>;
    assert.deepEqual(obj.spec, {
      volumeName: 'pvc-1234',
      volumeId: 'v1:media:volumes/pvc-1234',
      bucket: 'media',
      prefix: 'volumes/pvc-1234',
      onDelete: 'retain',
      capacityBytes: 5 * GiB,
      volumeContext: res.volume.volume_context,
    });
    assert.equal(obj.metadata.labels[VOLUME_ID_LABEL], volumeIdHash(res.volume.volume_id));
    assert.equal(obj.status, undefined);
  });

  it('after a controller restart, the same request returns the same volume and a different one is ALREADY_EXISTS', async () => {
    const first = await call(( await startController()).controller, 'CreateVolume', createRequest());
    const c = await startController();
    assert.deepEqual(await call(c.controller, 'CreateVolume', createRequest()), first);
    assert.deepEqual(await callError(c.controller, 'CreateVolume', createRequest({ capacity_range: { required_bytes: 6 * GiB } })), {
      code: status.ALREADY_EXISTS,
      details: 'volume pvc-1234 already exists with different parameters or capacity',
    });
    assert.equal((await callError(c.controller, 'CreateVolume', createRequest({ parameters: { bucket: 'media', basePrefix: 'volumes', uid: '1001' } }))).code, status.ALREADY_EXISTS);
    assert.equal(api.objects.size, 1);
  });

  it('a record created by another controller between get and create: same record is OK, another is ALREADY_EXISTS', async () => {
    const store = new CrdVolumeStore(api.kubeConfig());
    const record = { name: 'pvc-9', volumeId: 'v1:media:volumes/pvc-9', capacityBytes: GiB, volumeContext: { bucket: 'media', prefix: 'volumes/pvc-9' } };
    await store.put(record);
    await new CrdVolumeStore(api.kubeConfig()).put(record);
    await assert.rejects(new CrdVolumeStore(api.kubeConfig()).put({ ...record, capacityBytes: 2 * GiB }), /already exists with different parameters/);
  });

  it('a CO name that is not a DNS subdomain gets a hashed resource name and still round-trips', async () => {
    const c = await startController();
    const name = 'Volume_With Upper/Case';
    await call(c.controller, 'CreateVolume', createRequest({ name, parameters: { bucket: 'media', prefix: 'shared' } }));
    const resource = resourceNameForVolume(name);
    assert.match(resource, /^fs-[0-9a-f]{40}$/);
    assert.equal((api.objects.get(resource) as Record<string, any>).spec.volumeName, name);
    assert.deepEqual((await new CrdVolumeStore(api.kubeConfig()).get(name))?.volumeId, 'v1:media:shared');
  });

  it('DeleteVolume deletes the records of the volume (a repeat is OK)', async () => {
    const c = await startController();
    const res = await call<{ volume: { volume_id: string } }>(c.controller, 'CreateVolume', createRequest());
    await call(c.controller, 'DeleteVolume', { volume_id: res.volume.volume_id });
    assert.equal(api.objects.size, 0);
    await call(c.controller, 'DeleteVolume', { volume_id: res.volume.volume_id });
  });

  it('[error] API server unavailable → UNAVAILABLE; RBAC refusal → PERMISSION_DENIED (no token in the details)', async () => {
    const c = await startController();
    api.faults.push({ status: 503, times: 1 });
    const down = await callError(c.controller, 'CreateVolume', createRequest());
    assert.equal(down.code, status.UNAVAILABLE);
    assert.match(down.details, /get s3filesystems\/pvc-1234: HTTP 503/);
    const denied = await callError((await startController('wrong-token')).controller, 'CreateVolume', createRequest());
    assert.equal(denied.code, status.PERMISSION_DENIED);
    assert.doesNotMatch(denied.details, /wrong-token/);
  });

  it('[error] API server not reachable at all → UNAVAILABLE', async () => {
    const c = await startController();
    await api.stop();
    assert.equal((await callError(c.controller, 'CreateVolume', createRequest())).code, status.UNAVAILABLE);
    api = await FakeKubeApiServer.start(); // for afterEach
  });
});
