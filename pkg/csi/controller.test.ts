// CSI Controller service through the real unix socket, with FakeBucketAccess standing in for S3.
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { ControllerServer } from './controller';
import { NotFoundError, PermissionError, UnavailableError } from './errors';
import { IdentityServer } from './identity';
import { blockCapability, call, callError, CsiHarness, deferred, mountCapability, testLogger } from './testing/csi-harness';
import { FakeBucketAccess } from './testing/fake-bucket-access';
import { MemoryVolumeStore } from './volume-store';

const GiB = 2 ** 30;

function createRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'pvc-1234',
    capacity_range: { required_bytes: 5 * GiB },
    volume_capabilities: [mountCapability()],
    parameters: { bucket: 'media', basePrefix: 'volumes' },
    ...overrides,
  };
}

describe('CSI Controller over the unix socket', () => {
  let s3: FakeBucketAccess;
  let h: CsiHarness;

  beforeEach(async () => {
    s3 = new FakeBucketAccess().addBucket('media').addBucket('shared', { prefixes: ['datasets/raw'] });
    s3.addBucket('locked', { allowedKeys: ['AKIDGOOD'] });
    const controller = new ControllerServer({ bucketAccess: s3, store: new MemoryVolumeStore(), logger: testLogger });
    h = await new CsiHarness({ identity: new IdentityServer({ ready: () => true }), controller }).start();
  });
  afterEach(() => h.stop());

  it('ControllerGetCapabilities: CREATE_DELETE_VOLUME only', async () => {
    const res = await call(h.controller, 'ControllerGetCapabilities', {});
    assert.deepEqual(res, { capabilities: [{ rpc: { type: 'CREATE_DELETE_VOLUME' }, type: 'rpc' }] });
  });

  it('CreateVolume gives a dynamic volume its own prefix under basePrefix and a versioned ID', async () => {
    const res = await call<{ volume: Record<string, unknown> }>(h.controller, 'CreateVolume', createRequest({ parameters: { bucket: 'media', basePrefix: '/volumes/', syncDelay: '2s', uid: '1000', fileMode: '640' } }));
    assert.equal(res.volume.volume_id, 'v1:media:volumes/pvc-1234');
    assert.equal(res.volume.capacity_bytes, 5 * GiB);
    assert.deepEqual(res.volume.volume_context, {
      bucket: 'media',
      prefix: 'volumes/pvc-1234',
      syncDelay: '2000ms',
      uid: '1000',
      fileMode: '0640',
      capacityBytes: String(5 * GiB),
    });
    assert.ok(s3.hasPrefix('media', 'volumes/pvc-1234'));
  });

  it('CreateVolume is idempotent: the same request returns the same volume', async () => {
    const first = await call(h.controller, 'CreateVolume', createRequest());
    const second = await call(h.controller, 'CreateVolume', createRequest());
    assert.deepEqual(second, first);
  });

  it('CreateVolume: same name with different parameters or capacity is ALREADY_EXISTS', async () => {
    await call(h.controller, 'CreateVolume', createRequest());
    assert.deepEqual(await callError(h.controller, 'CreateVolume', createRequest({ parameters: { bucket: 'media', basePrefix: 'other' } })), {
      code: status.ALREADY_EXISTS,
      details: 'volume pvc-1234 already exists with different parameters or capacity',
    });
    assert.deepEqual(await callError(h.controller, 'CreateVolume', createRequest({ capacity_range: { required_bytes: GiB } })), {
      code: status.ALREADY_EXISTS,
      details: 'volume pvc-1234 already exists with different parameters or capacity',
    });
  });

  it('CreateVolume links an existing prefix; region and endpoint go into the ID', async () => {
    const res = await call<{ volume: Record<string, string> }>(h.controller, 'CreateVolume', createRequest({
      parameters: { bucket: 'shared', prefix: 'datasets/raw', region: 'eu-west-1', endpoint: 'http://rgw.storage.svc:7480/' },
    }));
    assert.equal(res.volume.volume_id, 'v1:shared:datasets/raw::eu-west-1:http%3A//rgw.storage.svc%3A7480');
  });

  it('CreateVolume validates access with the provisioner secrets', async () => {
    const req = createRequest({ parameters: { bucket: 'locked' }, secrets: { accessKeyId: 'AKIDGOOD', secretAccessKey: 'sssssssssssssssss' } });
    await call(h.controller, 'CreateVolume', req);
    assert.deepEqual(s3.calls[0], { op: 'checkAccess', bucket: 'locked', prefix: 'pvc-1234', keyId: 'AKIDGOOD' });
  });

  const createErrors: { name: string; req: Record<string, unknown>; code: status; details: string }[] = [
    { name: 'missing name', req: createRequest({ name: '' }), code: status.INVALID_ARGUMENT, details: 'missing name' },
    { name: 'name with control characters', req: createRequest({ name: 'a\u0001b' }), code: status.INVALID_ARGUMENT, details: 'name contains control characters' },
    { name: 'missing volume_capabilities', req: createRequest({ volume_capabilities: [] }), code: status.INVALID_ARGUMENT, details: 'missing volume_capabilities' },
    { name: 'block access', req: createRequest({ volume_capabilities: [blockCapability()] }), code: status.INVALID_ARGUMENT, details: 'block access is not supported: s3files volumes are file systems' },
    { name: 'missing access_mode', req: createRequest({ volume_capabilities: [{ mount: {} }] }), code: status.INVALID_ARGUMENT, details: 'volume_capabilities has no access_mode' },
    { name: 'missing bucket', req: createRequest({ parameters: { basePrefix: 'x' } }), code: status.INVALID_ARGUMENT, details: 'parameter bucket is required' },
    { name: 'invalid bucket', req: createRequest({ parameters: { bucket: 'a' } }), code: status.INVALID_ARGUMENT, details: 'bucket "a" is not a valid bucket name' },
    { name: '".." in basePrefix', req: createRequest({ parameters: { bucket: 'media', basePrefix: 'a/../b' } }), code: status.INVALID_ARGUMENT, details: 'basePrefix "a/../b" must not contain empty, "." or ".." segments' },
    { name: '".." in prefix', req: createRequest({ parameters: { bucket: 'media', prefix: '..' } }), code: status.INVALID_ARGUMENT, details: 'prefix ".." must not contain empty, "." or ".." segments' },
    { name: 'empty segment in prefix', req: createRequest({ parameters: { bucket: 'media', prefix: 'a//b' } }), code: status.INVALID_ARGUMENT, details: 'prefix "a//b" must not contain empty, "." or ".." segments' },
    { name: 'prefix and basePrefix together', req: createRequest({ parameters: { bucket: 'media', prefix: 'a', basePrefix: 'b' } }), code: status.INVALID_ARGUMENT, details: 'parameters prefix and basePrefix exclude each other' },
    { name: 'onDelete=delete on a linked prefix', req: createRequest({ parameters: { bucket: 'media', prefix: 'a', onDelete: 'delete' } }), code: status.INVALID_ARGUMENT, details: 'onDelete=delete is refused for a linked prefix: s3files never deletes data it did not create' },
    { name: 'unknown onDelete', req: createRequest({ parameters: { bucket: 'media', onDelete: 'purge' } }), code: status.INVALID_ARGUMENT, details: 'onDelete must be "retain" or "delete"' },
    { name: 'unknown parameter', req: createRequest({ parameters: { bucket: 'media', bukket: 'x' } }), code: status.INVALID_ARGUMENT, details: 'unknown parameter "bukket"' },
    { name: 'endpoint with credentials', req: createRequest({ parameters: { bucket: 'media', endpoint: 'https://u:p@s3.example.com' } }), code: status.INVALID_ARGUMENT, details: 'endpoint must not contain credentials; use a secret' },
    { name: 'endpoint not http', req: createRequest({ parameters: { bucket: 'media', endpoint: 'ftp://s3' } }), code: status.INVALID_ARGUMENT, details: 'endpoint must be an http or https URL' },
    { name: 'bad syncDelay', req: createRequest({ parameters: { bucket: 'media', syncDelay: 'soon' } }), code: status.INVALID_ARGUMENT, details: 'syncDelay "soon" is not a duration (e.g. 5s, 500ms, 2m)' },
    { name: 'bad cacheLimit', req: createRequest({ parameters: { bucket: 'media', cacheLimit: '10 apples' } }), code: status.INVALID_ARGUMENT, details: 'cacheLimit "10 apples" is not a size (e.g. 10Gi)' },
    { name: 'bad fileMode', req: createRequest({ parameters: { bucket: 'media', fileMode: '999' } }), code: status.INVALID_ARGUMENT, details: 'fileMode must be octal permission bits such as 0644' },
    { name: 'bad uid', req: createRequest({ parameters: { bucket: 'media', uid: '-1' } }), code: status.INVALID_ARGUMENT, details: 'uid must be a numeric id' },
    { name: 'only half the secret', req: createRequest({ secrets: { accessKeyId: 'AKID' } }), code: status.INVALID_ARGUMENT, details: 'secrets must contain both accessKeyId and secretAccessKey, or neither' },
    { name: 'volume_content_source', req: createRequest({ volume_content_source: { snapshot: { snapshot_id: 's' } } }), code: status.INVALID_ARGUMENT, details: 'volume_content_source is not supported (no snapshots or clones)' },
    { name: 'required above limit', req: createRequest({ capacity_range: { required_bytes: 2 * GiB, limit_bytes: GiB } }), code: status.OUT_OF_RANGE, details: 'capacity_range.required_bytes exceeds limit_bytes' },
    { name: 'bucket does not exist', req: createRequest({ parameters: { bucket: 'nosuch' } }), code: status.FAILED_PRECONDITION, details: 'bucket nosuch does not exist' },
    { name: 'access denied', req: createRequest({ parameters: { bucket: 'locked' } }), code: status.PERMISSION_DENIED, details: 'access to bucket locked denied' },
  ];
  for (const t of createErrors) {
    it(`CreateVolume [error] ${t.name}`, async () => {
      assert.deepEqual(await callError(h.controller, 'CreateVolume', t.req), { code: t.code, details: t.details });
    });
  }

  it('CreateVolume [error] S3 unreachable is UNAVAILABLE, and secret values never reach the details', async () => {
    s3.failOn.set('checkAccess', new UnavailableError('connect ECONNREFUSED while signing with topsecretvalue'));
    const req = createRequest({ secrets: { accessKeyId: 'AKIDGOOD', secretAccessKey: 'topsecretvalue' } });
    assert.deepEqual(await callError(h.controller, 'CreateVolume', req), {
      code: status.UNAVAILABLE,
      details: 'connect ECONNREFUSED while signing with ***',
    });
  });

  it('CreateVolume [error] an unexpected failure is INTERNAL with a sanitised message', async () => {
    s3.failOn.set('ensurePrefix', new TypeError('cannot read properties of undefined'));
    assert.deepEqual(await callError(h.controller, 'CreateVolume', createRequest()), {
      code: status.INTERNAL,
      details: 'internal error: TypeError: cannot read properties of undefined',
    });
  });

  it('CreateVolume [error] a concurrent call for the same name is ABORTED', async () => {
    const gate = deferred();
    s3.gate.set('checkAccess', gate.promise);
    const first = call(h.controller, 'CreateVolume', createRequest());
    await waitFor(() => s3.calls.length === 1);
    assert.deepEqual(await callError(h.controller, 'CreateVolume', createRequest()), {
      code: status.ABORTED,
      details: 'an operation on name:pvc-1234 is already in progress',
    });
    gate.resolve();
    await first;
  });

  it('DeleteVolume deletes the data of a dynamic volume only when onDelete=delete; repeats succeed', async () => {
    const res = await call<{ volume: { volume_id: string } }>(h.controller, 'CreateVolume', createRequest({ parameters: { bucket: 'media', basePrefix: 'volumes', onDelete: 'delete' } }));
    assert.equal(res.volume.volume_id, 'v1:media:volumes/pvc-1234:delete');
    await call(h.controller, 'DeleteVolume', { volume_id: res.volume.volume_id });
    assert.equal(s3.hasPrefix('media', 'volumes/pvc-1234'), false);
    await call(h.controller, 'DeleteVolume', { volume_id: res.volume.volume_id });
    // Recreating after deletion is a new volume, not a conflict.
    await call(h.controller, 'CreateVolume', createRequest({ parameters: { bucket: 'media', basePrefix: 'volumes', onDelete: 'delete' } }));
  });

  it('DeleteVolume keeps the data of retained, linked and static volumes', async () => {
    await call(h.controller, 'CreateVolume', createRequest());
    await call(h.controller, 'DeleteVolume', { volume_id: 'v1:media:volumes/pvc-1234' });
    await call(h.controller, 'DeleteVolume', { volume_id: 'shared/datasets/raw' });
    assert.ok(s3.hasPrefix('media', 'volumes/pvc-1234'));
    assert.ok(s3.hasPrefix('shared', 'datasets/raw'));
    assert.deepEqual(s3.calls.filter((c) => c.op === 'deletePrefix'), []);
  });

  it('DeleteVolume of unknown or malformed IDs succeeds; of a deleted bucket succeeds', async () => {
    await call(h.controller, 'DeleteVolume', { volume_id: 'v1:nosuch:volumes/pvc-9:delete' });
    await call(h.controller, 'DeleteVolume', { volume_id: 'v9:whatever' });
    await call(h.controller, 'DeleteVolume', { volume_id: '::not an id::' });
  });

  it('DeleteVolume [error] missing volume_id', async () => {
    assert.deepEqual(await callError(h.controller, 'DeleteVolume', {}), { code: status.INVALID_ARGUMENT, details: 'missing volume_id' });
  });

  it('DeleteVolume [error] S3 denies the deletion: PERMISSION_DENIED, retried later by the CO', async () => {
    s3.failOn.set('deletePrefix', new PermissionError('access to bucket media denied'));
    assert.deepEqual(await callError(h.controller, 'DeleteVolume', { volume_id: 'v1:media:volumes/x:delete' }), {
      code: status.PERMISSION_DENIED,
      details: 'access to bucket media denied',
    });
  });

  it('ValidateVolumeCapabilities confirms file-system access in every mode, refuses block', async () => {
    const { volume } = await call<{ volume: { volume_id: string; volume_context: Record<string, string> } }>(h.controller, 'CreateVolume', createRequest());
    const caps = ['SINGLE_NODE_WRITER', 'MULTI_NODE_READER_ONLY', 'MULTI_NODE_MULTI_WRITER', 'SINGLE_NODE_SINGLE_WRITER'].map((m) => mountCapability(m));
    const ok = await call<{ confirmed: { volume_capabilities: unknown[] } }>(h.controller, 'ValidateVolumeCapabilities', { volume_id: volume.volume_id, volume_capabilities: caps, volume_context: volume.volume_context });
    assert.equal(ok.confirmed.volume_capabilities.length, 4);
    const block = await call<Record<string, unknown>>(h.controller, 'ValidateVolumeCapabilities', { volume_id: volume.volume_id, volume_capabilities: [blockCapability()] });
    assert.equal(block.confirmed, null);
    assert.equal(block.message, 'block access is not supported: s3files volumes are file systems');
  });

  const validateErrors: { name: string; req: Record<string, unknown>; code: status; details: string }[] = [
    { name: 'missing volume_id', req: { volume_capabilities: [mountCapability()] }, code: status.INVALID_ARGUMENT, details: 'missing volume_id' },
    { name: 'missing volume_capabilities', req: { volume_id: 'v1:media:x' }, code: status.INVALID_ARGUMENT, details: 'missing volume_capabilities' },
    { name: 'unknown volume (no such bucket)', req: { volume_id: 'v1:nosuch:x', volume_capabilities: [mountCapability()] }, code: status.NOT_FOUND, details: 'volume v1:nosuch:x does not exist' },
    { name: 'unknown volume (prefix gone)', req: { volume_id: 'v1:media:volumes/gone', volume_capabilities: [mountCapability()] }, code: status.NOT_FOUND, details: 'volume v1:media:volumes/gone does not exist' },
    { name: 'malformed volume_id', req: { volume_id: 'v1:bad bucket', volume_capabilities: [mountCapability()] }, code: status.NOT_FOUND, details: 'volume v1:bad bucket does not exist' },
  ];
  for (const t of validateErrors) {
    it(`ValidateVolumeCapabilities [error] ${t.name}`, async () => {
      assert.deepEqual(await callError(h.controller, 'ValidateVolumeCapabilities', t.req), { code: t.code, details: t.details });
    });
  }

  it('ValidateVolumeCapabilities of a static volume checks only the bucket', async () => {
    const res = await call<Record<string, unknown>>(h.controller, 'ValidateVolumeCapabilities', { volume_id: 'media/anything', volume_capabilities: [mountCapability()] });
    assert.ok(res.confirmed);
  });

  it('RPCs outside the advertised capabilities are UNIMPLEMENTED', async () => {
    const err = await callError(h.controller, 'ControllerPublishVolume', { volume_id: 'v1:media:x', node_id: 'n' });
    assert.equal(err.code, status.UNIMPLEMENTED);
  });

  it('NotFoundError from S3 in DeleteVolume is success (bucket already gone)', async () => {
    s3.failOn.set('deletePrefix', new NotFoundError('bucket media does not exist'));
    await call(h.controller, 'DeleteVolume', { volume_id: 'v1:media:volumes/x:delete' });
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
