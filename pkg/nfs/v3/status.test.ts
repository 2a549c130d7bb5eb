import assert from 'node:assert/strict';
import { FsError, type FsErrorCode } from '../../vfs';
import { Nfsstat3 } from './constants';
import { FS_ERROR_STATUS, NfsStatusError, knownStatusOf } from './status';

// Expected values typed in from RFC 1813 section 2.6, not taken from constants.ts.
const TABLE: [FsErrorCode, number][] = [
  ['EPERM', 1],
  ['ENOENT', 2],
  ['EIO', 5],
  ['ENXIO', 6],
  ['EACCES', 13],
  ['EEXIST', 17],
  ['EXDEV', 18],
  ['ENODEV', 19],
  ['ENOTDIR', 20],
  ['EISDIR', 21],
  ['EINVAL', 22],
  ['EFBIG', 27],
  ['ENOSPC', 28],
  ['EROFS', 30],
  ['EMLINK', 31],
  ['ENAMETOOLONG', 63],
  ['ENOTEMPTY', 66],
  ['EDQUOT', 69],
  ['ESTALE', 70],
  ['EBADHANDLE', 10001],
  ['ENOTSYNC', 10002],
  ['EBADCOOKIE', 10003],
  ['ENOTSUPP', 10004],
  ['ETOOSMALL', 10005],
  ['EBADTYPE', 10007],
  ['EJUKEBOX', 10008],
];

describe('nfs3 status table', () => {
  for (const [code, status] of TABLE) {
    it(`[map] ${code} → ${status}`, () => {
      assert.equal(FS_ERROR_STATUS[code], status);
      assert.equal(knownStatusOf(new FsError(code, 'x')), status);
    });
  }

  it('[map] covers every FsErrorCode exactly once', () => {
    assert.deepEqual(Object.keys(FS_ERROR_STATUS).sort(), TABLE.map(([c]) => c).sort());
  });

  it('[map] NfsStatusError keeps its status and cause', () => {
    const cause = new Error('inner');
    const e = new NfsStatusError(Nfsstat3.ROFS, cause);
    assert.equal(knownStatusOf(e), 30);
    assert.equal(e.cause, cause);
  });

  it('[error] unknown errors have no known status (the runner answers IO and logs)', () => {
    assert.equal(knownStatusOf(new Error('boom')), undefined);
    assert.equal(knownStatusOf('string'), undefined);
    assert.equal(knownStatusOf(new FsError('EWHAT' as FsErrorCode)), undefined);
  });
});
