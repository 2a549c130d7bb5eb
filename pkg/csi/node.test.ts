// CSI Node and Identity services through the real unix socket, with FakeMounter for mount(8)
// and FakeVolumeExports for the node's NFS cache server. Paths are real temporary directories,
// so directory creation and removal are what the real plugin does.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { FakeMounter } from '../mount/fake-mounter';
import { MountError } from '../mount/mounter';
import { UnavailableError } from './errors';
import { DRIVER_NAME, IdentityServer } from './identity';
import { NodeServer } from './node';
import { blockCapability, call, callError, CsiHarness, deferred, mountCapability, testLogger } from './testing/csi-harness';
import { FakeVolumeExports } from './testing/fake-volume-exports';
import { exportNameFor } from './volume-id';

const VOL = 'v1:media:volumes/pvc-1';
const text = (d: string | (() => string)): string => (typeof d === 'function' ? d() : d);
const OTHER = 'v1:media:volumes/pvc-2';

describe('CSI Node over the unix socket', () => {
  let dir: string;
  let staging: string;
  let target: string;
  let mounter: FakeMounter;
  let exports: FakeVolumeExports;
  let h: CsiHarness;

  const stageReq = (o: Record<string, unknown> = {}): Record<string, unknown> => ({
    volume_id: VOL,
    staging_target_path: staging,
    volume_capability: mountCapability(),
    volume_context: { bucket: 'media', prefix: 'volumes/pvc-1' },
    ...o,
  });
  const publishReq = (o: Record<string, unknown> = {}): Record<string, unknown> => ({
    volume_id: VOL,
    staging_target_path: staging,
    target_path: target,
    volume_capability: mountCapability(),
    readonly: false,
    ...o,
  });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'csi-node-'));
    staging = path.join(dir, 'staging', 'globalmount');
    target = path.join(dir, 'pods', 'p1', 'mount');
    await mkdir(path.dirname(target), { recursive: true });
    mounter = new FakeMounter();
    exports = new FakeVolumeExports();
    const node = new NodeServer({ nodeId: 'node-a', mounter, exports, logger: testLogger, maxVolumesPerNode: 0 });
    h = await new CsiHarness({ identity: new IdentityServer({ ready: () => exports.ready(), version: '1.2.3' }), node }).start();
  });
  afterEach(async () => {
    await h.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('Identity: plugin name, version, CONTROLLER_SERVICE capability', async () => {
    assert.deepEqual(await call(h.identity, 'GetPluginInfo', {}), { name: DRIVER_NAME, vendor_version: '1.2.3', manifest: {} });
    assert.deepEqual(await call(h.identity, 'GetPluginCapabilities', {}), { capabilities: [{ service: { type: 'CONTROLLER_SERVICE' }, type: 'service' }] });
  });

  it('Identity: Probe reports not ready until the NFS server and cache are up', async () => {
    exports.isReady = false;
    assert.deepEqual(await call(h.identity, 'Probe', {}), { ready: { value: false } });
    exports.isReady = true;
    assert.deepEqual(await call(h.identity, 'Probe', {}), { ready: { value: true } });
  });

  it('NodeGetCapabilities: STAGE_UNSTAGE_VOLUME and GET_VOLUME_STATS', async () => {
    const res = await call<{ capabilities: { rpc: { type: string } }[] }>(h.node, 'NodeGetCapabilities', {});
    assert.deepEqual(res.capabilities.map((c) => c.rpc.type), ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS']);
  });

  it('NodeGetInfo: the node id, no volume limit, no topology', async () => {
    assert.deepEqual(await call(h.node, 'NodeGetInfo', {}), { node_id: 'node-a', max_volumes_per_node: 0, accessible_topology: null });
  });

  it('NodeStageVolume exports the volume and mounts it over NFSv3 from loopback; a repeat is a no-op', async () => {
    await call(h.node, 'NodeStageVolume', stageReq({ volume_capability: mountCapability('MULTI_NODE_MULTI_WRITER', ['noatime', 'actimeo=1']) }));
    await call(h.node, 'NodeStageVolume', stageReq());
    const source = `127.0.0.1:/${exportNameFor(VOL)}`;
    assert.deepEqual(mounter.actions, [{
      op: 'mount',
      source,
      target: staging,
      fstype: 'nfs',
      options: ['vers=3', 'proto=tcp', 'port=20490', 'mountport=20490', 'mountproto=tcp', 'local_lock=all', 'nolock', 'hard', 'noatime', 'actimeo=1'],
    }]);
    assert.ok((await stat(staging)).isDirectory());
    assert.deepEqual(exports.exported.get(VOL)?.location, { bucket: 'media', prefix: 'volumes/pvc-1' });
  });

  it('NodeStageVolume passes node-stage secrets as credentials, and a static handle with region works', async () => {
    await call(h.node, 'NodeStageVolume', stageReq({
      volume_id: 'shared/datasets/raw',
      volume_context: { region: 'eu-west-1', uid: '1000', 'csi.storage.k8s.io/pv/name': 'pv-x' },
      secrets: { accessKeyId: 'AKID', secretAccessKey: 'SECRET' },
    }));
    const spec = exports.exported.get('shared/datasets/raw');
    assert.deepEqual(spec?.location, { bucket: 'shared', prefix: 'datasets/raw', region: 'eu-west-1' });
    assert.deepEqual(spec?.credentials, { accessKeyId: 'AKID', secretAccessKey: 'SECRET' });
    assert.equal(spec?.options.uid, 1000);
  });

  it('NodeStageVolume [error] staging path mounted from something else is ALREADY_EXISTS', async () => {
    mounter.addExisting({ target: staging, source: 'otherhost:/elsewhere' });
    assert.deepEqual(await callError(h.node, 'NodeStageVolume', stageReq()), {
      code: status.ALREADY_EXISTS,
      details: `${staging} is already mounted from otherhost:/elsewhere`,
    });
  });

  const stageErrors: { name: string; req: () => Record<string, unknown>; code: status; details: string | (() => string) }[] = [
    { name: 'missing volume_id', req: () => stageReq({ volume_id: '' }), code: status.INVALID_ARGUMENT, details: 'missing volume_id' },
    { name: 'missing staging_target_path', req: () => stageReq({ staging_target_path: '' }), code: status.INVALID_ARGUMENT, details: 'missing staging_target_path' },
    { name: 'relative staging_target_path', req: () => stageReq({ staging_target_path: 'rel/path' }), code: status.INVALID_ARGUMENT, details: 'staging_target_path must be an absolute path' },
    { name: 'missing volume_capability', req: () => stageReq({ volume_capability: null }), code: status.INVALID_ARGUMENT, details: 'missing volume_capability' },
    { name: 'block access', req: () => stageReq({ volume_capability: blockCapability() }), code: status.INVALID_ARGUMENT, details: 'block access is not supported: s3files volumes are file systems' },
    { name: 'invalid volume_id', req: () => stageReq({ volume_id: 'v1:UPPER..bad' }), code: status.INVALID_ARGUMENT, details: 'volume_id bucket "UPPER..bad" is not a valid bucket name' },
    { name: 'unknown volume_id version', req: () => stageReq({ volume_id: 'v7:media:x' }), code: status.INVALID_ARGUMENT, details: 'volume_id has unknown version "v7:"' },
    { name: '".." in a static handle', req: () => stageReq({ volume_id: 'media/a/../b', volume_context: {} }), code: status.INVALID_ARGUMENT, details: 'volume_id prefix "a/../b" must not contain empty, "." or ".." segments' },
    { name: 'volume context disagrees with volume_id', req: () => stageReq({ volume_context: { bucket: 'other' } }), code: status.INVALID_ARGUMENT, details: 'volume context bucket does not match volume_id' },
    { name: 'unknown volume context key', req: () => stageReq({ volume_context: { buckit: 'media' } }), code: status.INVALID_ARGUMENT, details: 'unknown volume context key "buckit"' },
    { name: '".." in subPath', req: () => stageReq({ volume_context: { subPath: '../etc' } }), code: status.INVALID_ARGUMENT, details: 'subPath "../etc" must not contain empty, "." or ".." segments' },
    { name: 'mount option s3files controls', req: () => stageReq({ volume_capability: mountCapability('SINGLE_NODE_WRITER', ['port=2049']) }), code: status.INVALID_ARGUMENT, details: 'mount option port is set by s3files and cannot be overridden' },
    { name: 'mount option lock (NLM, which s3files does not serve)', req: () => stageReq({ volume_capability: mountCapability('SINGLE_NODE_WRITER', ['noatime,lock']) }), code: status.INVALID_ARGUMENT, details: 'mount option lock is set by s3files and cannot be overridden' },
    { name: 'only half the secret', req: () => stageReq({ secrets: { secretAccessKey: 'x' } }), code: status.INVALID_ARGUMENT, details: 'secrets must contain both accessKeyId and secretAccessKey, or neither' },
  ];
  for (const t of stageErrors) {
    it(`NodeStageVolume [error] ${t.name}`, async () => {
      assert.deepEqual(await callError(h.node, 'NodeStageVolume', t.req()), { code: t.code, details: text(t.details) });
      assert.deepEqual(mounter.actions, []);
    });
  }

  it('NodeStageVolume [error] S3 unreachable for the export is UNAVAILABLE; a failed mount is INTERNAL', async () => {
    exports.failOn.set('ensureExport', new UnavailableError('S3 is not reachable for bucket media'));
    assert.deepEqual(await callError(h.node, 'NodeStageVolume', stageReq()), { code: status.UNAVAILABLE, details: 'S3 is not reachable for bucket media' });
    exports.failOn.clear();
    mounter.failOn.set(`mount:${staging}`, new MountError('mount.nfs: Connection refused'));
    assert.deepEqual(await callError(h.node, 'NodeStageVolume', stageReq()), {
      code: status.INTERNAL,
      details: 'internal error: MountError: mount.nfs: Connection refused',
    });
  });

  it('NodeStageVolume [error] a concurrent call on the same volume is ABORTED', async () => {
    const gate = deferred();
    exports.gate.set('ensureExport', gate.promise);
    const first = call(h.node, 'NodeStageVolume', stageReq());
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await callError(h.node, 'NodeUnstageVolume', { volume_id: VOL, staging_target_path: staging }), {
      code: status.ABORTED,
      details: `an operation on volume:${VOL} is already in progress`,
    });
    gate.resolve();
    await first;
  });

  it('NodePublishVolume bind-mounts the staging path; a repeat is a no-op; read-only binds are ro', async () => {
    await call(h.node, 'NodeStageVolume', stageReq());
    await call(h.node, 'NodePublishVolume', publishReq());
    await call(h.node, 'NodePublishVolume', publishReq());
    const roTarget = path.join(dir, 'pods', 'p2', 'mount');
    await call(h.node, 'NodePublishVolume', publishReq({ target_path: roTarget, readonly: true }));
    const binds = mounter.actions.filter((a) => a.options?.includes('bind'));
    assert.deepEqual(binds.map((a) => [a.source, a.target, a.options]), [
      [staging, target, ['bind']],
      [staging, roTarget, ['bind', 'ro']],
    ]);
  });

  it('NodePublishVolume with a subPath binds that directory, creating it', async () => {
    await call(h.node, 'NodeStageVolume', stageReq());
    await call(h.node, 'NodePublishVolume', publishReq({ volume_context: { subPath: 'renders/out' } }));
    assert.ok((await stat(path.join(staging, 'renders/out'))).isDirectory());
    const [, bind] = await mounter.list();
    assert.equal(bind?.root, '/renders/out');
    await call(h.node, 'NodePublishVolume', publishReq({ volume_context: { subPath: 'renders/out' } }));
  });

  it('NodePublishVolume [error] the target mounted from another source is ALREADY_EXISTS', async () => {
    const otherStaging = path.join(dir, 'staging2');
    await call(h.node, 'NodeStageVolume', stageReq());
    await call(h.node, 'NodeStageVolume', stageReq({ volume_id: OTHER, staging_target_path: otherStaging, volume_context: {} }));
    await call(h.node, 'NodePublishVolume', publishReq());
    const expected = { code: status.ALREADY_EXISTS, details: `${target} is already mounted from another source or with other options` };
    assert.deepEqual(await callError(h.node, 'NodePublishVolume', publishReq({ volume_id: OTHER, staging_target_path: otherStaging })), expected);
    assert.deepEqual(await callError(h.node, 'NodePublishVolume', publishReq({ readonly: true })), expected);
  });

  const publishErrors: { name: string; req: () => Record<string, unknown>; code: status; details: string | (() => string) }[] = [
    { name: 'missing volume_id', req: () => publishReq({ volume_id: '' }), code: status.INVALID_ARGUMENT, details: 'missing volume_id' },
    { name: 'missing target_path', req: () => publishReq({ target_path: '' }), code: status.INVALID_ARGUMENT, details: 'missing target_path' },
    { name: 'missing staging_target_path', req: () => publishReq({ staging_target_path: '' }), code: status.FAILED_PRECONDITION, details: 'staging_target_path is not set, but the plugin has STAGE_UNSTAGE_VOLUME' },
    { name: 'missing volume_capability', req: () => publishReq({ volume_capability: null }), code: status.INVALID_ARGUMENT, details: 'missing volume_capability' },
    { name: 'block access', req: () => publishReq({ volume_capability: blockCapability() }), code: status.INVALID_ARGUMENT, details: 'block access is not supported: s3files volumes are file systems' },
    { name: 'neither volume_capability nor staging_target_path (the missing field wins)', req: () => publishReq({ volume_capability: null, staging_target_path: '' }), code: status.INVALID_ARGUMENT, details: 'missing volume_capability' },
    { name: 'neither target_path nor staging_target_path', req: () => publishReq({ target_path: '', staging_target_path: '' }), code: status.INVALID_ARGUMENT, details: 'missing target_path' },
    { name: 'bad volume context and no staging_target_path', req: () => publishReq({ volume_context: { subPath: '../x' }, staging_target_path: '' }), code: status.INVALID_ARGUMENT, details: 'subPath "../x" must not contain empty, "." or ".." segments' },
    { name: 'relative staging_target_path', req: () => publishReq({ staging_target_path: 'rel/path' }), code: status.INVALID_ARGUMENT, details: 'staging_target_path must be an absolute path' },
    { name: 'volume not staged', req: () => publishReq(), code: status.FAILED_PRECONDITION, details: () => `volume ${VOL} is not staged at ${staging}` },
  ];
  for (const t of publishErrors) {
    it(`NodePublishVolume [error] ${t.name}`, async () => {
      assert.deepEqual(await callError(h.node, 'NodePublishVolume', t.req()), { code: t.code, details: text(t.details) });
    });
  }

  it('NodeUnpublishVolume unmounts and removes the target; repeats and never-mounted targets succeed', async () => {
    await call(h.node, 'NodeStageVolume', stageReq());
    await call(h.node, 'NodePublishVolume', publishReq());
    await call(h.node, 'NodeUnpublishVolume', { volume_id: VOL, target_path: target });
    await assert.rejects(stat(target), /ENOENT/);
    await call(h.node, 'NodeUnpublishVolume', { volume_id: VOL, target_path: target });
    await mkdir(target);
    await call(h.node, 'NodeUnpublishVolume', { volume_id: VOL, target_path: target });
    assert.deepEqual(mounter.actions.filter((a) => a.op === 'unmount').map((a) => a.target), [target]);
  });

  it('NodeUnpublishVolume [error] a target that is not empty after unmounting is kept: FAILED_PRECONDITION', async () => {
    await mkdir(target);
    await writeFile(path.join(target, 'precious'), 'data');
    assert.deepEqual(await callError(h.node, 'NodeUnpublishVolume', { volume_id: VOL, target_path: target }), {
      code: status.FAILED_PRECONDITION,
      details: `${target} is not empty after unmounting`,
    });
  });

  it('NodeUnpublishVolume [error] missing volume_id / target_path', async () => {
    assert.deepEqual(await callError(h.node, 'NodeUnpublishVolume', { target_path: target }), { code: status.INVALID_ARGUMENT, details: 'missing volume_id' });
    assert.deepEqual(await callError(h.node, 'NodeUnpublishVolume', { volume_id: VOL }), { code: status.INVALID_ARGUMENT, details: 'missing target_path' });
  });

  it('NodeUnstageVolume unmounts, then releases the export (sync); repeats succeed', async () => {
    await call(h.node, 'NodeStageVolume', stageReq());
    await call(h.node, 'NodeUnstageVolume', { volume_id: VOL, staging_target_path: staging });
    assert.deepEqual(mounter.actions.map((a) => a.op), ['mount', 'unmount']);
    assert.deepEqual(exports.released, [VOL]);
    await call(h.node, 'NodeUnstageVolume', { volume_id: VOL, staging_target_path: staging });
    await call(h.node, 'NodeUnstageVolume', { volume_id: OTHER, staging_target_path: path.join(dir, 'never') });
  });

  it('NodeUnstageVolume [error] refused while the volume is still published', async () => {
    await call(h.node, 'NodeStageVolume', stageReq());
    await call(h.node, 'NodePublishVolume', publishReq());
    assert.deepEqual(await callError(h.node, 'NodeUnstageVolume', { volume_id: VOL, staging_target_path: staging }), {
      code: status.FAILED_PRECONDITION,
      details: `volume is still published at ${target}`,
    });
    assert.deepEqual(exports.released, []);
  });

  it('NodeUnstageVolume [error] a failed unmount keeps the export (INTERNAL, retried by kubelet)', async () => {
    await call(h.node, 'NodeStageVolume', stageReq());
    mounter.failOn.set('unmount', new MountError('umount: target is busy'));
    assert.deepEqual(await callError(h.node, 'NodeUnstageVolume', { volume_id: VOL, staging_target_path: staging }), {
      code: status.INTERNAL,
      details: 'internal error: MountError: umount: target is busy',
    });
    assert.ok(exports.exported.has(VOL));
  });

  it('NodeUnstageVolume [error] missing volume_id / staging_target_path', async () => {
    assert.deepEqual(await callError(h.node, 'NodeUnstageVolume', { staging_target_path: staging }), { code: status.INVALID_ARGUMENT, details: 'missing volume_id' });
    assert.deepEqual(await callError(h.node, 'NodeUnstageVolume', { volume_id: VOL }), { code: status.INVALID_ARGUMENT, details: 'missing staging_target_path' });
  });

  it('NodeGetVolumeStats reports bytes and inodes of a staged volume', async () => {
    await call(h.node, 'NodeStageVolume', stageReq());
    const res = await call<{ usage: unknown[] }>(h.node, 'NodeGetVolumeStats', { volume_id: VOL, volume_path: staging });
    assert.deepEqual(res.usage, [
      { unit: 'BYTES', total: 10 * 2 ** 30, used: 2 ** 30, available: 9 * 2 ** 30 },
      { unit: 'INODES', total: 1000, used: 10, available: 990 },
    ]);
  });

  it('NodeGetVolumeStats answers for the published target path (a bind of the staging mount) too', async () => {
    await call(h.node, 'NodeStageVolume', stageReq());
    await call(h.node, 'NodePublishVolume', publishReq());
    const res = await call<{ usage: { unit: string }[] }>(h.node, 'NodeGetVolumeStats', { volume_id: VOL, volume_path: target });
    assert.deepEqual(res.usage.map((u) => u.unit), ['BYTES', 'INODES']);
  });

  const statsErrors: { name: string; req: () => Record<string, unknown>; code: status; details: string | (() => string) }[] = [
    { name: 'missing volume_id', req: () => ({ volume_path: staging }), code: status.INVALID_ARGUMENT, details: 'missing volume_id' },
    { name: 'missing volume_path', req: () => ({ volume_id: VOL }), code: status.INVALID_ARGUMENT, details: 'missing volume_path' },
    { name: 'relative volume_path', req: () => ({ volume_id: VOL, volume_path: 'some/path' }), code: status.NOT_FOUND, details: 'volume_path some/path is not an absolute path, so no volume is mounted there' },
    { name: 'volume_path does not exist', req: () => ({ volume_id: VOL, volume_path: path.join(dir, 'nope') }), code: status.NOT_FOUND, details: () => `volume_path ${path.join(dir, 'nope')} does not exist` },
    { name: 'volume not staged on this node', req: () => ({ volume_id: OTHER, volume_path: dir }), code: status.NOT_FOUND, details: `volume ${OTHER} is not staged on this node` },
    { name: 'an existing directory where the staged volume is not mounted', req: () => ({ volume_id: VOL, volume_path: dir }), code: status.NOT_FOUND, details: () => `volume ${VOL} is not mounted at ${dir}` },
    { name: "another volume's mount", req: () => ({ volume_id: VOL, volume_path: path.join(dir, 'staging2') }), code: status.NOT_FOUND, details: () => `volume ${VOL} is not mounted at ${path.join(dir, 'staging2')}` },
  ];
  for (const t of statsErrors) {
    it(`NodeGetVolumeStats [error] ${t.name}`, async () => {
      await call(h.node, 'NodeStageVolume', stageReq());
      await call(h.node, 'NodeStageVolume', stageReq({ volume_id: OTHER, staging_target_path: path.join(dir, 'staging2'), volume_context: {} }));
      await call(h.node, 'NodeUnstageVolume', { volume_id: OTHER, staging_target_path: path.join(dir, 'staging2') });
      await mkdir(path.join(dir, 'staging2'), { recursive: true });
      mounter.addExisting({ target: path.join(dir, 'staging2'), source: `127.0.0.1:/${exportNameFor(OTHER)}`, fstype: 'nfs' });
      assert.deepEqual(await callError(h.node, 'NodeGetVolumeStats', t.req()), { code: t.code, details: text(t.details) });
    });
  }

  it('RPCs outside the advertised capabilities are UNIMPLEMENTED', async () => {
    assert.equal((await callError(h.node, 'NodeExpandVolume', { volume_id: VOL, volume_path: staging })).code, status.UNIMPLEMENTED);
  });
});
