import assert from 'node:assert/strict';
import { decodeMetadata, encodeMetadata, parseFileMtime, parseMetadataStyle, parseMode, parseTime } from './object-meta';

describe('object metadata (s3fs / rclone / s3cmd)', () => {
  const modes: Array<[string, string | undefined, ReturnType<typeof parseMode>]> = [
    ['s3fs regular file 0644', '33188', { type: 'file', mode: 0o644 }],
    ['s3fs directory 0755', '16877', { type: 'dir', mode: 0o755 }],
    ['s3fs symlink', '41471', { type: 'symlink', mode: 0o777 }],
    ['s3fs setuid file', String(0o104755), { type: 'file', mode: 0o4755 }],
    ['rclone octal st_mode', '100644', { type: 'file', mode: 0o644 }],
    ['octal with leading zero', '0640', { type: undefined, mode: 0o640 }],
    ['bare octal permissions', '755', { type: undefined, mode: 0o755 }],
    ['[error] not a number', 'rwxr-xr-x', undefined],
    ['[error] too large', '99999999', undefined],
    ['[error] missing', undefined, undefined],
  ];
  for (const [name, value, want] of modes) it(`mode: ${name}`, () => assert.deepEqual(parseMode(value), want));

  const times: Array<[string, string, ReturnType<typeof parseTime>]> = [
    ['epoch seconds (s3fs)', '1600000000', { sec: 1600000000, nsec: 0 }],
    ['fractional seconds (rclone)', '1600000000.5', { sec: 1600000000, nsec: 500000000 }],
    ['RFC 3339 with ns (rclone)', '2021-02-03T04:05:06.123456789Z', { sec: 1612325106, nsec: 123456789 }],
    ['RFC 3339 with offset', '2021-02-03T05:05:06+01:00', { sec: 1612325106, nsec: 0 }],
    ['[error] garbage', 'yesterday', undefined],
  ];
  for (const [name, value, want] of times) it(`mtime: ${name}`, () => assert.deepEqual(parseTime(value), want));

  it('s3cmd-attrs', () => {
    assert.deepEqual(decodeMetadata({ 's3cmd-attrs': 'atime:1/ctime:2/gid:20/gname:x/md5:abc/mode:33261/mtime:1600000001/uid:10/uname:y' }), {
      type: 'file', mode: 0o755, uid: 10, gid: 20, mtime: { sec: 1600000001, nsec: 0 },
    });
  });

  it('encodes in s3fs form and reads its own output back', () => {
    const meta = encodeMetadata({ type: 'file', mode: 0o640, uid: 1000, gid: 100, mtime: { sec: 1700000000, nsec: 999 } });
    assert.deepEqual(meta, { mode: '33184', uid: '1000', gid: '100', mtime: '1700000000' });
    assert.deepEqual(decodeMetadata(meta), { type: 'file', mode: 0o640, uid: 1000, gid: 100, mtime: { sec: 1700000000, nsec: 0 } });
  });

  it('[error] ids that are not numbers are ignored', () => {
    assert.deepEqual(decodeMetadata({ uid: 'root', gid: '-1' }), {});
  });
});

describe('object metadata: Amazon S3 Files keys (file-owner, file-group, file-permissions)', () => {
  // Shaped as S3 Files documents them: uid/gid as integers, st_mode in octal with the type bits.
  const file = { 'file-owner': '1000', 'file-group': '1001', 'file-permissions': '0100640' };
  const dir = { 'file-owner': '1000', 'file-group': '1000', 'file-permissions': '0040750' };

  it('reads a file and a directory marker written by S3 Files', () => {
    assert.deepEqual(decodeMetadata(file), { type: 'file', mode: 0o640, uid: 1000, gid: 1001 });
    assert.deepEqual(decodeMetadata(dir), { type: 'dir', mode: 0o750, uid: 1000, gid: 1000 });
    assert.deepEqual(decodeMetadata({ 'file-permissions': '0120777' }), { type: 'symlink', mode: 0o777 });
  });

  it('reads permissions without type bits (Storage Gateway writes "0644")', () => {
    assert.deepEqual(decodeMetadata({ 'file-permissions': '0644', 'file-owner': '0' }), { mode: 0o644, uid: 0 });
  });

  it('FSx for Lustre mtime: ns with "ns", ms without', () => {
    assert.deepEqual(parseFileMtime('1700000000123456789ns'), { sec: 1700000000, nsec: 123456789 });
    assert.deepEqual(parseFileMtime('1700000000123'), { sec: 1700000000, nsec: 123000000 });
    assert.equal(parseFileMtime('soon'), undefined);
    assert.equal(parseFileMtime('-5ns'), undefined);
  });

  it('writes exactly S3 Files keys in the s3files style, and reads them back', () => {
    const meta = encodeMetadata({ type: 'file', mode: 0o640, uid: 1000, gid: 100, mtime: { sec: 1700000000, nsec: 999 } }, 's3files');
    assert.deepEqual(meta, { 'file-owner': '1000', 'file-group': '100', 'file-permissions': '0100640', 'file-mtime': '1700000000000000999ns' });
    assert.deepEqual(decodeMetadata(meta, 's3files'), { type: 'file', mode: 0o640, uid: 1000, gid: 100, mtime: { sec: 1700000000, nsec: 999 } });
    const d = encodeMetadata({ type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: { sec: 1, nsec: 0 } }, 's3files');
    assert.equal(d['file-permissions'], '0040755');
  });

  it('both: s3fs and S3 Files keys together, equal', () => {
    const meta = encodeMetadata({ type: 'file', mode: 0o600, uid: 7, gid: 8, mtime: { sec: 1600000000, nsec: 0 } }, 'both');
    assert.deepEqual(meta, {
      mode: '33152', uid: '7', gid: '8', mtime: '1600000000',
      'file-owner': '7', 'file-group': '8', 'file-permissions': '0100600', 'file-mtime': '1600000000000000000ns',
    });
  });

  const conflicting = { mode: '33188', uid: '1', gid: '2', 'file-permissions': '0100600', 'file-owner': '3', 'file-group': '4' };
  it('precedence: an s3fs export reads s3fs keys first', () => {
    assert.deepEqual(decodeMetadata(conflicting, 's3fs'), { type: 'file', mode: 0o644, uid: 1, gid: 2 });
  });
  it('precedence: an s3files or both export reads S3 Files keys first', () => {
    assert.deepEqual(decodeMetadata(conflicting, 's3files'), { type: 'file', mode: 0o600, uid: 3, gid: 4 });
    assert.deepEqual(decodeMetadata(conflicting, 'both'), { type: 'file', mode: 0o600, uid: 3, gid: 4 });
  });
  it('precedence is per attribute: a missing or unreadable value falls through to the next set', () => {
    assert.deepEqual(decodeMetadata({ 'file-permissions': 'garbage', mode: '33261', 'file-owner': '5', 's3cmd-attrs': 'gid:9' }, 's3files'), {
      type: 'file', mode: 0o755, uid: 5, gid: 9,
    });
  });

  it('[error] style names', () => {
    assert.equal(parseMetadataStyle('s3files'), 's3files');
    assert.equal(parseMetadataStyle('S3FILES'), undefined);
    assert.equal(parseMetadataStyle(''), undefined);
  });
});
