// The SQS event source with the SDK's real SQSClient against a stand-in queue (no AWS here):
// S3 Event Notifications and EventBridge events for objects put directly into the bucket (the
// embedded FolderStore, TTL one hour) show at once and their messages are deleted; a message
// that is not an event is logged and deleted; a queue that cannot be read is a status error,
// the export keeps serving (TTL), and the recovery is a gap (listings redone at next use).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventRouter, feedFor } from '../../pkg/events';
import { SqsSource } from '../../pkg/events/sqs-source';
import { FolderStore } from '../../pkg/s3/folder-store';
import { FakeSqs } from '../support/fake-sqs';
import { linkedExport, listNames, quietLog, readFile, type TestExport } from '../support/linked-fs';
import { until } from '../support/proc';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const s3Event = (name: string, key: string, etag?: string) => ({
  Records: [{ eventVersion: '2.1', eventSource: 'aws:s3', eventTime: new Date().toISOString(), eventName: name, s3: { bucket: { name: 'bkt' }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/'), ...(etag ? { eTag: etag } : {}) } } }],
});

describe('bucket events from SQS (SDK client, stand-in queue)', function () {
  this.timeout(60_000);
  let dir = '';
  let store: FolderStore;
  let sqs: FakeSqs;
  let source: SqsSource | undefined;
  let t: TestExport;
  let router: EventRouter;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3files-sqs-'));
    store = await FolderStore.open(dir);
    sqs = await FakeSqs.start();
    t = await linkedExport(store, 'vol/', { dirTtlMs: 3_600_000 });
    router = new EventRouter(quietLog);
    router.add(feedFor('data', 'bkt', t, quietLog, { coalesceMs: 20 }));
  });

  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await router.closeAll();
    await t.cleanup();
    await sqs.close();
    await rm(dir, { recursive: true, force: true });
  });

  function startSource(): SqsSource {
    source = new SqsSource({
      queueUrl: sqs.queueUrl, router, log: quietLog, waitSeconds: 1, retryBaseMs: 50, retryMaxMs: 200,
      client: { endpoint: sqs.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } },
    });
    source.start();
    return source;
  }

  it('S3 Event Notifications and EventBridge events show changes at once; messages are deleted', async () => {
    await store.put('vol/a.txt', Buffer.from('one'));
    assert.deepEqual(await listNames(t.fs, ''), ['a.txt']);
    startSource();
    // The start is a gap (what was missed while nobody read is unknown): wait it out and let it
    // re-list, so that from here on only events can explain a change (TTL one hour).
    await until('start-up gap', () => source!.status().connected && t.fs.remoteChanges!.counters.gaps === 1, 5000);
    assert.deepEqual(await listNames(t.fs, ''), ['a.txt']);
    const put = await store.put('vol/new dir/b c.txt', Buffer.from('bee'));
    sqs.send(s3Event('ObjectCreated:Put', 'vol/new dir/b c.txt', put.etag));
    await until('created', async () => (await listNames(t.fs, '')).includes('new dir'), 3000);
    assert.equal((await readFile(t.fs, 'new dir/b c.txt')).toString(), 'bee');

    const over = await store.put('vol/a.txt', Buffer.from('two!'));
    sqs.send({ version: '0', 'detail-type': 'Object Created', source: 'aws.s3', time: new Date().toISOString(), detail: { bucket: { name: 'bkt' }, object: { key: 'vol/a.txt', etag: over.etag } } });
    await until('overwritten', async () => (await readFile(t.fs, 'a.txt')).toString() === 'two!', 3000);

    await store.delete('vol/a.txt');
    sqs.send(s3Event('ObjectRemoved:Delete', 'vol/a.txt'));
    await until('deleted', async () => !(await listNames(t.fs, '')).includes('a.txt'), 3000);

    sqs.send('this is not an event');
    await until('all messages deleted', () => sqs.pending === 0, 3000);
    assert.equal(sqs.deleted.length, 4);
    assert.equal(source!.status().malformed, 1);
    assert.equal(source!.status().connected, true);
  });

  it('[error] a queue that cannot be read: status error, TTL stands in, recovery is a gap', async () => {
    await store.put('vol/x.txt', Buffer.from('x'));
    assert.deepEqual(await listNames(t.fs, ''), ['x.txt']);
    sqs.failWith = 403;
    startSource();
    await until('status error', () => source!.status().lastError !== undefined, 5000);
    assert.equal(source!.status().connected, false);
    assert.match(source!.status().lastError!, /AccessDenied|403/);
    await store.put('vol/missed.txt', Buffer.from('m')); // its event never arrives
    assert.deepEqual(await listNames(t.fs, ''), ['x.txt']); // the export still answers, from its cache
    const gaps = t.fs.remoteChanges!.counters.gaps;
    sqs.failWith = undefined;
    await until('reconnected', () => source!.status().connected, 5000);
    await until('gap', () => t.fs.remoteChanges!.counters.gaps > gaps, 2000);
    assert.deepEqual(await listNames(t.fs, ''), ['missed.txt', 'x.txt']);
  });
});
