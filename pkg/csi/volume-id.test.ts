import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { CsiError } from './errors';
import { encodeVolumeId, exportNameFor, parseVolumeId } from './volume-id';

describe('volume IDs', () => {
  it('round-trip with escaping of ":" and "%"; trailing empty fields left out', () => {
    const h = { bucket: 'media', prefix: 'a:b/100%', onDelete: 'delete' as const, region: 'eu-west-1', endpoint: 'http://rgw:7480' };
    const id = encodeVolumeId(h);
    assert.equal(id, 'v1:media:a%3Ab/100%25:delete:eu-west-1:http%3A//rgw%3A7480');
    assert.deepEqual(parseVolumeId(id), { ...h, static: false });
    assert.equal(encodeVolumeId({ bucket: 'media', prefix: 'p', onDelete: 'retain' }), 'v1:media:p');
  });

  it('an ID with fewer fields (written by an older version) parses with the rest empty', () => {
    assert.deepEqual(parseVolumeId('v1:media'), { bucket: 'media', prefix: '', onDelete: 'retain', static: false });
  });

  it('deterministic: the same volume always gets the same ID', () => {
    const h = { bucket: 'b-1', prefix: 'x/y', onDelete: 'retain' as const };
    assert.equal(encodeVolumeId(h), encodeVolumeId({ ...h }));
  });

  it('static handles: "bucket", "bucket/prefix", "s3://bucket/prefix/"', () => {
    assert.deepEqual(parseVolumeId('media'), { bucket: 'media', prefix: '', onDelete: 'retain', static: true });
    assert.deepEqual(parseVolumeId('media/a/b'), { bucket: 'media', prefix: 'a/b', onDelete: 'retain', static: true });
    assert.deepEqual(parseVolumeId('s3://media/a/b/'), { bucket: 'media', prefix: 'a/b', onDelete: 'retain', static: true });
  });

  const bad: [string, string][] = [
    ['', 'volume_id is empty'],
    ['v2:media:x', 'volume_id has unknown version "v2:"'],
    ['v1:media::purge', 'volume_id has unknown onDelete "purge"'],
    ['v1:media::delete', 'volume_id asks to delete the data of a whole bucket'],
    ['v1:media:../etc', 'volume_id prefix "../etc" must not contain empty, "." or ".." segments'],
    ['media/a/./b', 'volume_id prefix "a/./b" must not contain empty, "." or ".." segments'],
    ['x', 'volume_id bucket "x" is not a valid bucket name'],
  ];
  for (const [id, details] of bad) {
    it(`[error] ${JSON.stringify(id)}: ${details}`, () => {
      assert.throws(() => parseVolumeId(id), (err: unknown) => err instanceof CsiError && err.code === status.INVALID_ARGUMENT && err.message === details);
    });
  }

  it('export names are stable, short and valid NFS export paths', () => {
    const name = exportNameFor('v1:media:volumes/pvc-1');
    assert.match(name, /^v-[0-9a-f]{32}$/);
    assert.equal(exportNameFor('v1:media:volumes/pvc-1'), name);
    assert.notEqual(exportNameFor('v1:media:volumes/pvc-2'), name);
  });
});
