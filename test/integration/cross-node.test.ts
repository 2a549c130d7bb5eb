// Two nodes holding one volume, each with its own cache, linked to the same bucket and prefix
// (FolderStore, and Ceph RGW without bucket notifications), their directory TTL at an hour:
// they find each other through the volume's S3FileSystem (status.nodes[].notifyUrl, written by
// each node's StatusReporter; the Kubernetes API is FakeKubeApiServer), and a file written and
// closed on one is readable with the new bytes on the other within the sync delay + 2 s —
// created, overwritten, deleted. A node that is down does not stop the writer.
import assert from 'node:assert/strict';
import winston from 'winston';
import { CrdVolumeStore } from '../../pkg/csi/crd-volume-store';
import { KubeEventRecorder } from '../../pkg/csi/kube/events';
import { PeerRegistry } from '../../pkg/csi/kube/peer-registry';
import { S3FileSystemClient } from '../../pkg/csi/kube/s3filesystem-client';
import { StatusReporter } from '../../pkg/csi/kube/status-reporter';
import { EventRouter, feedFor, startEventEndpoint, type EventEndpoint } from '../../pkg/events';
import { PeerNotifier } from '../../pkg/events/peers';
import type { ObjectStore } from '../../pkg/s3/object-store';
import { forBothStores, type StoreSetup } from '../support/both-stores';
import { FakeKubeApiServer } from '../support/fake-kube-api';
import { ROOT, linkedExport, listNames, quietLog, readFile, uniquePrefix, writeFile, type TestExport } from '../support/linked-fs';
import { until } from '../support/proc';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const silent = winston.createLogger({ silent: true });
const TOKEN = 'cluster-shared-token-0123456789';
const VOLUME_ID = 'v1:media:volumes/pvc-1';
const SYNC_DELAY_MS = 300;

interface Node {
  id: string;
  t: TestExport;
  router: EventRouter;
  endpoint: EventEndpoint;
  reporter: StatusReporter;
  notifier: PeerNotifier;
}

function crossNodeSuite(name: string, setup: () => Promise<StoreSetup>): void {
  describe(`nodes tell each other (${name}; Kubernetes API faked)`, function () {
    this.timeout(120_000);
    let store: ObjectStore;
    let cleanup: () => Promise<void>;
    let api: FakeKubeApiServer;
    const nodes: Node[] = [];
    let prefix = '';

    async function startNode(id: string): Promise<Node> {
      const t = await linkedExport(store, prefix, { dirTtlMs: 3_600_000, syncDelayMs: SYNC_DELAY_MS });
      const router = new EventRouter(quietLog);
      router.add(feedFor('pvc-1', 'media', t, quietLog, { coalesceMs: 20 }));
      const endpoint = await startEventEndpoint({ host: '127.0.0.1', port: 0, token: TOKEN, router, log: quietLog });
      const kc = api.kubeConfig();
      const client = new S3FileSystemClient(kc);
      const notifyUrl = `http://127.0.0.1:${endpoint.address.port}/events/pvc-1`;
      const reporter = new StatusReporter({
        client, nodeId: id, logger: silent,
        events: new KubeEventRecorder(kc, { component: 's3files-node', host: id, logger: silent }),
        source: { syncStatus: async () => [{ volumeId: VOLUME_ID, dirtyBytes: 0, notifyUrl }] },
      });
      await reporter.reportOnce();
      const registry = new PeerRegistry({ client, nodeId: id, refreshMs: 200 });
      const notifier = new PeerNotifier({ bucket: 'media', ownWrites: t.ownWrites, peers: () => registry.peersOf(VOLUME_ID), token: TOKEN, log: quietLog, timeoutMs: 500 });
      const node = { id, t, router, endpoint, reporter, notifier };
      nodes.push(node);
      return node;
    }

    before(async () => ({ store, cleanup } = await setup()));
    beforeEach(async function () {
      prefix = uniquePrefix(this.currentTest?.title.slice(0, 16).replace(/[^a-z0-9]+/gi, '-') ?? 't');
      api = await FakeKubeApiServer.start();
      await new CrdVolumeStore(api.kubeConfig()).put({ name: 'pvc-1', volumeId: VOLUME_ID, capacityBytes: 0, volumeContext: { bucket: 'media', prefix: 'volumes/pvc-1' } });
    });
    afterEach(async () => {
      for (const n of nodes.splice(0)) {
        n.notifier.close();
        await n.endpoint.close();
        await n.router.closeAll();
        await n.t.cleanup();
      }
      await api.stop();
    });
    after(async () => cleanup?.());

    it('a file written and closed on one node is read with the new bytes on the other within the sync delay + 2 s', async () => {
      const a = await startNode('node-a');
      const b = await startNode('node-b');
      const entries = ((api.objects.get('pvc-1') as unknown as { status: { nodes: Array<{ node: string; notifyUrl: string }> } }).status.nodes);
      assert.deepEqual(entries.map((n) => [n.node, n.notifyUrl]), [
        ['node-a', `http://127.0.0.1:${a.endpoint.address.port}/events/pvc-1`],
        ['node-b', `http://127.0.0.1:${b.endpoint.address.port}/events/pvc-1`],
      ]);
      assert.deepEqual(await listNames(b.t.fs, ''), []);
      const limit = SYNC_DELAY_MS + 2000;
      const timings: Record<string, number> = {};

      await writeFile(a.t.fs, 'shared.txt', Buffer.from('from node a, v1'));
      timings.created = await until('created on a, read on b', async () => (await readFile(b.t.fs, 'shared.txt')).toString() === 'from node a, v1', limit);

      await writeFile(a.t.fs, 'shared.txt', Buffer.from('from node a, version two'));
      timings.overwritten = await until('overwritten on a, read on b', async () => (await readFile(b.t.fs, 'shared.txt')).toString() === 'from node a, version two', limit);

      await writeFile(b.t.fs, 'reply.txt', Buffer.from('from node b'));
      timings.otherWay = await until('written on b, read on a', async () => (await readFile(a.t.fs, 'reply.txt')).toString() === 'from node b', limit);

      await a.t.fs.remove(ROOT, a.t.fs.rootIno, 'shared.txt');
      timings.deleted = await until('deleted on a, gone on b', async () => !(await listNames(b.t.fs, '')).includes('shared.txt'), limit);
      // eslint-disable-next-line no-console
      console.log(`      write/close → visible on the other node (ms, sync delay ${SYNC_DELAY_MS}): ${JSON.stringify(timings)}`);
      assert.ok(a.notifier.counters.notices >= 3 && b.notifier.counters.notices >= 1, JSON.stringify([a.notifier.counters, b.notifier.counters]));
      // The Kubernetes API saw only the reporters' writes and the registries' lists: no per-write load.
      const verbs = new Set(api.requests.map((r) => `${r.verb} ${r.resource}`));
      assert.deepEqual([...verbs].sort(), ['create s3filesystems', 'get s3filesystems', 'list s3filesystems', 'patch s3filesystems/status'].filter((v) => verbs.has(v)));
    });

    it('[error] a peer that is down costs the writer nothing; it catches up through a gap when back', async () => {
      const a = await startNode('node-a');
      const b = await startNode('node-b');
      assert.deepEqual(await listNames(b.t.fs, ''), []);
      await b.endpoint.close(); // b's notices now fail (connection refused)
      await writeFile(a.t.fs, 'while-down.txt', Buffer.from('x'));
      await a.t.reconciler.drain();
      await a.notifier.flushed();
      assert.ok(a.notifier.counters.failures >= 1, JSON.stringify(a.notifier.counters));
      assert.deepEqual(await listNames(b.t.fs, ''), []); // TTL an hour: b does not know yet
      b.router.get('pvc-1')!.gap('endpoint restarted');
      await until('b catches up after the gap', async () => (await listNames(b.t.fs, '')).includes('while-down.txt'), 2000);
    });
  });
}

forBothStores('cross-node', crossNodeSuite);
