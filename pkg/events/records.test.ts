import assert from 'node:assert/strict';
import { compareSequencers, FormatError, parseEventBody } from './records';

// Shapes as the servers send them (RGW's captured from Ceph 16.2.15 here; AWS and MinIO as
// their documentation shows them).
const rgwPut = {
  Records: [{
    eventVersion: '2.2', eventSource: 'ceph:s3', awsRegion: '', eventTime: '2026-12-07T04:15:07.909171Z', eventName: 'ObjectCreated:Put',
    s3: { s3SchemaVersion: '1.0', configurationId: 's3files', bucket: { name: 'evb', arn: 'arn:aws:s3:::evb' },
      object: { key: 'a/b c+d%.txt', size: 1, eTag: '9dd4e461268c8034f5c8564e155c67a6', versionId: '', sequencer: 'CB32166B3725CB37', metadata: [], tags: [] } },
  }],
};
const awsDelete = {
  Records: [{
    eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: 'us-east-1', eventTime: '2024-01-01T00:00:00.000Z', eventName: 'ObjectRemoved:Delete',
    s3: { bucket: { name: 'b' }, object: { key: 'dir/with+space%C3%A9.txt', sequencer: '0055AED6DCD90281E5' } },
  }],
};
const minioPut = {
  EventName: 's3:ObjectCreated:Put', Key: 'b/x y',
  Records: [{ eventVersion: '2.0', eventSource: 'minio:s3', eventTime: '2024-01-01T00:00:00.000Z', eventName: 's3:ObjectCreated:Put',
    s3: { bucket: { name: 'b' }, object: { key: 'x+y', size: 3, eTag: '"abc"', sequencer: '17A' } } }],
};
const eventBridge = {
  version: '0', 'detail-type': 'Object Created', source: 'aws.s3', time: '2021-11-12T00:00:00Z', resources: ['arn:aws:s3:::b'],
  detail: { version: '0', bucket: { name: 'b' }, object: { key: 'raw key+.txt', size: 5, etag: 'e1', sequencer: '00617F08299329D189' }, reason: 'PutObject' },
};

describe('bucket event records', () => {
  it('Ceph RGW: key as is, ETag, time, sequencer', () => {
    assert.deepEqual(parseEventBody(JSON.stringify(rgwPut)), {
      changes: [{ bucket: 'evb', key: 'a/b c+d%.txt', removed: false, source: 'ceph:s3', etag: '9dd4e461268c8034f5c8564e155c67a6', atMs: Date.parse('2026-12-07T04:15:07.909Z'), sequencer: 'CB32166B3725CB37' }],
      gap: false, ignored: 0,
    });
  });

  it('AWS S3 Event Notifications: URL-encoded key ("+" is a space), removal', () => {
    const p = parseEventBody(JSON.stringify(awsDelete));
    assert.equal(p.changes[0]!.key, 'dir/with spaceé.txt');
    assert.equal(p.changes[0]!.removed, true);
    assert.equal(p.changes[0]!.etag, undefined);
  });

  it('MinIO webhook: "s3:" event names, quoted ETag', () => {
    const c = parseEventBody(Buffer.from(JSON.stringify(minioPut))).changes[0]!;
    assert.deepEqual([c.key, c.removed, c.etag], ['x y', false, 'abc']);
  });

  it('EventBridge "Object Created" / "Object Deleted"; other detail types ignored', () => {
    assert.deepEqual(parseEventBody(JSON.stringify(eventBridge)).changes.map((c) => [c.key, c.removed, c.etag]), [['raw key+.txt', false, 'e1']]);
    const del = { ...eventBridge, 'detail-type': 'Object Deleted' };
    assert.equal(parseEventBody(JSON.stringify(del)).changes[0]!.removed, true);
    assert.deepEqual(parseEventBody(JSON.stringify({ ...eventBridge, 'detail-type': 'Object Tags Added' })), { changes: [], gap: false, ignored: 1 });
  });

  it('inside an SNS envelope', () => {
    const sns = { Type: 'Notification', MessageId: 'm', TopicArn: 'arn:aws:sns:x', Message: JSON.stringify(awsDelete) };
    assert.equal(parseEventBody(JSON.stringify(sns)).changes[0]!.key, 'dir/with spaceé.txt');
  });

  it('s3:TestEvent is a gap', () => {
    assert.deepEqual(parseEventBody(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'b' })), { changes: [], gap: true, ignored: 0 });
  });

  it('records of other event types are counted as ignored', () => {
    const tagging = { Records: [{ ...awsDelete.Records[0], eventName: 'ObjectTagging:Put' }] };
    assert.deepEqual(parseEventBody(JSON.stringify(tagging)), { changes: [], gap: false, ignored: 1 });
  });

  const bad: Array<[string, string]> = [
    ['not JSON', '{"Records": ['],
    ['an array', '[]'],
    ['an unknown document', '{"hello": 1}'],
    ['a record without key', JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' } } }] })],
    ['a record that is a string', JSON.stringify({ Records: ['x'] })],
    ['a key that is not URL-encoded', JSON.stringify({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { key: '%E0%A4%A' } } }] })],
    ['an empty key', JSON.stringify({ Records: [{ eventSource: 'ceph:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { key: '' } } }] })],
    ['an SNS envelope around garbage', JSON.stringify({ Type: 'Notification', Message: 'nope' })],
    ['nested SNS envelopes', JSON.stringify({ Type: 'Notification', Message: JSON.stringify({ Type: 'Notification', Message: '{}' }) })],
  ];
  for (const [name, body] of bad) it(`[error] ${name}`, () => assert.throws(() => parseEventBody(body), FormatError));

  it('sequencers compare after padding', () => {
    assert.ok(compareSequencers('0055AED6DCD90281E5', '0055AED6DCD90281E6') < 0);
    assert.ok(compareSequencers('FF', '0100') < 0);
    assert.equal(compareSequencers('0A', 'A'), 0);
  });
});
