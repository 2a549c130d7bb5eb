// StatusReporter and KubeEventRecorder through @kubernetes/client-node against
// FakeKubeApiServer (a fake at the Kubernetes API boundary: no API server can run here). The
// sync numbers come from a scripted SyncStatusSource, as the S3 link will provide them.
import assert from 'node:assert/strict';
import winston from 'winston';
import { FakeKubeApiServer } from '../../../test/support/fake-kube-api';
import { CrdVolumeStore } from '../crd-volume-store';
import { KubeEventRecorder } from './events';
import { resourceNameForStatic } from './s3filesystem';
import { S3FileSystemClient } from './s3filesystem-client';
import type { VolumeSyncStatus } from '../sync-status';
import { StatusReporter } from './status-reporter';

const silent = winston.createLogger({ silent: true });
const DYNAMIC = 'v1:media:volumes/pvc-1';
const STATIC = 'shared/datasets/raw';
type Obj = Record<string, any>;

class ScriptedSource {
  volumes: VolumeSyncStatus[] = [];
  async syncStatus(): Promise<VolumeSyncStatus[]> {
    return this.volumes.map((v) => ({ ...v }));
  }
}

describe('S3FileSystem status from the nodes (StatusReporter, events; fake API server)', () => {
  let api: FakeKubeApiServer;
  let clock: Date;

  function reporter(nodeId: string, source: ScriptedSource, token?: string): StatusReporter {
    const kc = api.kubeConfig(token);
    const now = (): Date => clock;
    const events = new KubeEventRecorder(kc, { component: 's3files-node', host: nodeId, now, logger: silent });
    return new StatusReporter({ client: new S3FileSystemClient(kc), events, nodeId, source, now, heartbeatMs: 60_000, logger: silent });
  }

  const status = (name: string): Obj => (api.objects.get(name) as Obj).status;
  const patches = (): number => api.requests.filter((r) => r.verb === 'patch').length;

  beforeEach(async () => {
    api = await FakeKubeApiServer.start();
    clock = new Date('2026-03-01T10:00:00Z');
    await new CrdVolumeStore(api.kubeConfig()).put({ name: 'pvc-1', volumeId: DYNAMIC, capacityBytes: 0, volumeContext: { bucket: 'media', prefix: 'volumes/pvc-1' } });
  });
  afterEach(() => api.stop());

  it('writes the node\'s entry into the controller\'s record of a dynamic volume; spec untouched', async () => {
    const src = new ScriptedSource();
    src.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 4096, lastSync: new Date('2026-03-01T09:59:00Z') }];
    const specBefore = (api.objects.get('pvc-1') as Obj).spec;
    await reporter('node-a', src).reportOnce();
    assert.deepEqual(status('pvc-1'), {
      phase: 'Syncing',
      dirtyBytes: 4096,
      lastSync: '2026-03-01T09:59:00.000Z',
      nodes: [{ node: 'node-a', dirtyBytes: 4096, lastSync: '2026-03-01T09:59:00.000Z', reportedAt: '2026-03-01T10:00:00.000Z' }],
    });
    assert.deepEqual((api.objects.get('pvc-1') as Obj).spec, specBefore);
  });

  it('records a static volume (no CreateVolume) as a new S3FileSystem made from its handle', async () => {
    const src = new ScriptedSource();
    src.volumes = [{ volumeId: STATIC, dirtyBytes: 0 }];
    await reporter('node-a', src).reportOnce();
    const name = resourceNameForStatic(STATIC);
    assert.deepEqual((api.objects.get(name) as Obj).spec, { volumeId: STATIC, bucket: 'shared', prefix: 'datasets/raw', onDelete: 'retain' });
    assert.equal(status(name).phase, 'Synced');
    // A second node finds it and does not make another.
    await reporter('node-b', src).reportOnce();
    assert.equal(api.objects.size, 2);
    assert.deepEqual(status(name).nodes.map((n: Obj) => n.node), ['node-a', 'node-b']);
  });

  it('two nodes: both entries kept, totals summed, latest sync wins; a conflicting write is retried, not lost', async () => {
    const a = new ScriptedSource();
    const b = new ScriptedSource();
    a.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 100, lastSync: new Date('2026-03-01T09:00:00Z') }];
    b.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 50, lastSync: new Date('2026-03-01T09:30:00Z') }];
    await reporter('node-a', a).reportOnce();
    // node-b's first patch loses a race: node-a writes in between (a new resourceVersion).
    let raced = false;
    api.beforeStatusPatch = (name) => {
      if (raced) return;
      raced = true;
      const obj = api.objects.get(name) as Obj;
      api.objects.set(name, { ...obj, metadata: { ...obj.metadata, resourceVersion: `${obj.metadata.resourceVersion}x` } });
    };
    await reporter('node-b', b).reportOnce();
    assert.ok(raced);
    assert.equal(api.requests.filter((r) => r.verb === 'patch' && r.status === 409).length, 1);
    const st = status('pvc-1');
    assert.deepEqual(st.nodes.map((n: Obj) => [n.node, n.dirtyBytes]), [['node-a', 100], ['node-b', 50]]);
    assert.equal(st.dirtyBytes, 150);
    assert.equal(st.lastSync, '2026-03-01T09:30:00.000Z');
  });

  it('unchanged numbers are not written again until the heartbeat is due', async () => {
    const src = new ScriptedSource();
    src.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 10 }];
    const r = reporter('node-a', src);
    await r.reportOnce();
    await r.reportOnce();
    assert.equal(patches(), 1);
    clock = new Date(clock.getTime() + 61_000);
    await r.reportOnce();
    assert.equal(patches(), 2);
    assert.equal(status('pvc-1').nodes[0].reportedAt, '2026-03-01T10:01:01.000Z');
  });

  it('a sync error: phase Error and one Warning event SyncFailed (not repeated); recovery: a Normal event', async () => {
    const src = new ScriptedSource();
    const r = reporter('node-a', src);
    src.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 4096, error: 'PutObject a/b: SlowDown (503), key AKIAABCDEFGHIJKLMNOP' }];
    await r.reportOnce();
    clock = new Date(clock.getTime() + 120_000);
    await r.reportOnce();
    assert.equal(status('pvc-1').phase, 'Error');
    assert.equal(status('pvc-1').nodes[0].error, 'PutObject a/b: SlowDown (503), key ***');
    assert.equal(api.events.length, 1);
    const ev = api.events[0] as Obj;
    assert.equal(ev.metadata.namespace, 'default');
    assert.deepEqual([ev.type, ev.reason, ev.message], ['Warning', 'SyncFailed', 'node node-a: PutObject a/b: SlowDown (503), key ***']);
    assert.deepEqual(ev.involvedObject, { apiVersion: 's3files.csi.io/v1alpha1', kind: 'S3FileSystem', name: 'pvc-1', uid: (api.objects.get('pvc-1') as Obj).metadata.uid });
    assert.deepEqual(ev.source, { component: 's3files-node', host: 'node-a' });
    src.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 0, lastSync: clock }];
    await r.reportOnce();
    assert.equal(status('pvc-1').phase, 'Synced');
    assert.deepEqual(api.events.map((e) => (e as Obj).reason), ['SyncFailed', 'SyncRecovered']);
  });

  it('conflicts: a Warning event SyncConflict for each rise of the count, none while it stays; a reopened volume counts again', async () => {
    const src = new ScriptedSource();
    const r = reporter('node-a', src);
    const conflictEvents = (): Obj[] => api.events.filter((e) => (e as Obj).reason === 'SyncConflict') as Obj[];
    src.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 0, conflicts: 0 }];
    await r.reportOnce();
    assert.equal(conflictEvents().length, 0);
    src.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 0, conflicts: 2 }];
    await r.reportOnce();
    await r.reportOnce();
    assert.equal(conflictEvents().length, 1);
    const first = conflictEvents()[0] as Obj;
    assert.equal(first.type, 'Warning');
    assert.equal(first.involvedObject.name, 'pvc-1');
    assert.match(first.message, /^node node-a: 2 files changed in the bucket while also changed on this node \(2 since .*\.s3files-lost\+found\/$/);
    src.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 0, conflicts: 3 }];
    await r.reportOnce();
    assert.match((conflictEvents()[1] as Obj).message, /^node node-a: 1 file changed .*\(3 since/);
    // The plugin restarted the volume (count from 0 again): the next conflict is news.
    src.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 0, conflicts: 0 }];
    await r.reportOnce();
    src.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 0, conflicts: 1 }];
    await r.reportOnce();
    assert.equal(conflictEvents().length, 3);
    // Conflicts are not sync failures.
    assert.equal(status('pvc-1').phase, 'Synced');
  });

  it('PathTooLong: a Warning event when the count of files too long for S3 rises, none while it stays or falls', async () => {
    const src = new ScriptedSource();
    const r = reporter('node-a', src);
    const events = (): Obj[] => api.events.filter((e) => (e as Obj).reason === 'PathTooLong') as Obj[];
    src.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 0, unsyncable: 0 }];
    await r.reportOnce();
    assert.equal(events().length, 0);
    src.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 0, unsyncable: 1 }];
    await r.reportOnce();
    await r.reportOnce();
    assert.equal(events().length, 1);
    const first = events()[0] as Obj;
    assert.equal(first.type, 'Warning');
    assert.equal(first.involvedObject.name, 'pvc-1');
    assert.equal(first.message, "node node-a: 1 file or directory with a path too long for an S3 key (over 1,024 bytes with the volume's prefix) kept on this node only, not in the bucket; rename them to a shorter path and they are uploaded (s3files status PATH says which)");
    src.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 0, unsyncable: 0 }];
    await r.reportOnce();
    src.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 0, unsyncable: 3 }];
    await r.reportOnce();
    assert.match((events()[1] as Obj).message, /^node node-a: 3 files or directories with a path too long/);
    assert.equal(status('pvc-1').phase, 'Synced');
  });

  it('a volume the node no longer holds loses that node\'s entry; the other node\'s stays', async () => {
    const a = new ScriptedSource();
    const b = new ScriptedSource();
    a.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 1 }];
    b.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 2 }];
    const ra = reporter('node-a', a);
    await ra.reportOnce();
    await reporter('node-b', b).reportOnce();
    a.volumes = [];
    await ra.reportOnce();
    assert.deepEqual(status('pvc-1').nodes.map((n: Obj) => n.node), ['node-b']);
    assert.equal(status('pvc-1').dirtyBytes, 2);
  });

  it('[error] API server down: the round logs and returns; the next round writes the status', async () => {
    const src = new ScriptedSource();
    src.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 7 }];
    const r = reporter('node-a', src);
    api.faults.push({ status: 503, times: 10 });
    await r.reportOnce();
    assert.equal(status('pvc-1'), undefined);
    api.faults.length = 0;
    await r.reportOnce();
    assert.equal(status('pvc-1').dirtyBytes, 7);
  });

  it('start()/stop() run rounds on the interval', async () => {
    const src = new ScriptedSource();
    src.volumes = [{ volumeId: DYNAMIC, dirtyBytes: 3 }];
    const r = reporter('node-a', src);
    r.start();
    for (let i = 0; i < 100 && !status('pvc-1'); i++) await new Promise((res) => setTimeout(res, 10));
    await r.stop();
    assert.equal(status('pvc-1').dirtyBytes, 3);
  });
});
