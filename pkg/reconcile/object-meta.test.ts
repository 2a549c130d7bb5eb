import assert from 'node:assert/strict';
import { decodeMetadata, encodeMetadata, parseMode, parseTime } from './object-meta';

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
