import assert from 'node:assert/strict';
import { parseBytes, parseDuration, parseEndpoint, parseMode, parsePrefix } from './params';
import { planCreate, planStage, volumeContextFor } from './volume-spec';

describe('volume spec', () => {
  it('planCreate without basePrefix or prefix puts the volume at the bucket root', () => {
    const plan = planCreate('pvc-1', { bucket: 'media' });
    assert.deepEqual(plan, { location: { bucket: 'media', prefix: 'pvc-1' }, dynamic: true, onDelete: 'retain', options: {} });
  });

  it('planCreate ignores the keys Kubernetes adds (csi.storage.k8s.io/...)', () => {
    const plan = planCreate('pvc-1', { bucket: 'media', 'csi.storage.k8s.io/pvc/name': 'data', 'csi.storage.k8s.io/provisioner-secret-name': 's' });
    assert.equal(plan.location.prefix, 'pvc-1');
  });

  it('planCreate of a linked whole bucket (prefix "")', () => {
    assert.deepEqual(planCreate('pvc-1', { bucket: 'media', prefix: '' }).location, { bucket: 'media', prefix: '' });
  });

  it('the volume context round-trips through planStage', () => {
    const plan = planCreate('pvc-1', { bucket: 'media', basePrefix: 'v', syncDelay: '1.5s', cacheLimit: '2Gi', gid: '5', dirMode: '0750', region: 'us-east-2' });
    const ctx = volumeContextFor(plan, 1000);
    const stage = planStage('v1:media:v/pvc-1::us-east-2', ctx);
    assert.deepEqual(stage.location, plan.location);
    assert.deepEqual(stage.options, { ...plan.options, capacityBytes: 1000 });
    assert.equal(stage.subPath, '');
  });

  it('metadataStyle goes from the StorageClass to the volume context and to the node', () => {
    const plan = planCreate('pvc-1', { bucket: 'media', metadataStyle: 's3files' });
    assert.equal(plan.options.metadataStyle, 's3files');
    const ctx = volumeContextFor(plan, 0);
    assert.equal(ctx.metadataStyle, 's3files');
    assert.equal(planStage('v1:media:pvc-1::', ctx).options.metadataStyle, 's3files');
  });

  it('[error] metadataStyle other than s3fs, s3files, both', () => {
    assert.throws(() => planCreate('pvc-1', { bucket: 'media', metadataStyle: 'lustre' }), /metadataStyle must be "s3fs", "s3files" or "both"/);
  });

  it('parsers', () => {
    assert.equal(parsePrefix('/a/b/', 'p'), 'a/b');
    assert.equal(parseDuration('500ms', 'd'), 500);
    assert.equal(parseDuration('2m', 'd'), 120_000);
    assert.equal(parseDuration('3', 'd'), 3000);
    assert.equal(parseBytes('10Gi', 'b'), 10 * 2 ** 30);
    assert.equal(parseBytes('1.5M', 'b'), 1_500_000);
    assert.equal(parseMode('755', 'm'), 0o755);
    assert.equal(parseEndpoint('https://s3.example.com/', 'e'), 'https://s3.example.com');
    assert.throws(() => parsePrefix('a\\b', 'p'), /control characters or backslashes/);
    assert.throws(() => parsePrefix('a\nb', 'p'), /control characters or backslashes/);
    assert.throws(() => parseDuration('48h', 'd'), /at most 24h/);
  });
});
