// Byte vectors written out by hand from the XDR in RFC 1813 section 2.5 (big-endian, 4-byte
// units), one 32-bit word per group.
import assert from 'node:assert/strict';
import { words } from '../../../test/support/nfs3-call';
import { SAMPLE_ATTRS, SAMPLE_FATTR3, SAMPLE_FSID } from '../../../test/support/nfs3-samples';
import type { Attributes } from '../../vfs';
import { XdrError, XdrReader, XdrWriter } from '../xdr';
import { NfsStatusError } from './status';
import {
  readCreateHow3,
  readFattr3,
  readSattr3,
  readSattrGuard3,
  writeFattr3,
  writePostOpAttr,
  writePostOpFh3,
  writeWccData,
} from './types';

function encode(f: (w: XdrWriter) => void): string {
  const w = new XdrWriter(16);
  f(w);
  return words(w.toBuffer());
}

function reader(hex: string): XdrReader {
  return new XdrReader(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
}

describe('nfs3 types: encoders', () => {
  it('[fattr3] 84 bytes in RFC order, fsid = export id, fileid = ino', () => {
    const hex = encode((w) => writeFattr3(w, SAMPLE_ATTRS, SAMPLE_FSID));
    assert.equal(hex, SAMPLE_FATTR3);
    assert.equal(hex.replace(/ /g, '').length / 2, 84);
  });

  it('[fattr3] mode carries permission bits only; types map to ftype3', () => {
    const types: [Attributes['type'], string][] = [
      ['dir', '00000002'],
      ['block', '00000003'],
      ['char', '00000004'],
      ['symlink', '00000005'],
      ['socket', '00000006'],
      ['fifo', '00000007'],
    ];
    for (const [type, word] of types) {
      const hex = encode((w) => writeFattr3(w, { ...SAMPLE_ATTRS, type, mode: 0o104755, rdevMajor: 8, rdevMinor: 1 }, 1n));
      assert.equal(hex.slice(0, 17), `${word} 000009ed`, type);
      assert.equal(hex.split(' ').slice(9, 11).join(' '), '00000008 00000001');
    }
  });

  it('[fattr3] decodes what it encodes', () => {
    const w = new XdrWriter();
    writeFattr3(w, SAMPLE_ATTRS, SAMPLE_FSID);
    const back = readFattr3(new XdrReader(w.toBuffer()));
    assert.deepEqual(back, { ...SAMPLE_ATTRS, generation: 0, fsid: SAMPLE_FSID });
  });

  it('[post_op_attr] FALSE is one word; TRUE is followed by fattr3', () => {
    assert.equal(encode((w) => writePostOpAttr(w, undefined, 1n)), '00000000');
    assert.equal(encode((w) => writePostOpAttr(w, SAMPLE_ATTRS, SAMPLE_FSID)), `00000001 ${SAMPLE_FATTR3}`);
  });

  it('[wcc_data] pre_op_attr (size, mtime, ctime) then post_op_attr', () => {
    const before = { size: 10, mtime: { sec: 1, nsec: 2 }, ctime: { sec: 3, nsec: 4 } };
    assert.equal(
      encode((w) => writeWccData(w, { before, after: SAMPLE_ATTRS }, SAMPLE_FSID)),
      `00000001 00000000 0000000a 00000001 00000002 00000003 00000004 00000001 ${SAMPLE_FATTR3}`,
    );
  });

  it('[wcc_data] nothing known is two FALSE words', () => {
    assert.equal(encode((w) => writeWccData(w, undefined, 1n)), '00000000 00000000');
    assert.equal(encode((w) => writeWccData(w, {}, 1n)), '00000000 00000000');
  });

  it('[post_op_fh3] handle_follows then opaque<64> with padding', () => {
    assert.equal(encode((w) => writePostOpFh3(w, Buffer.from([1, 2, 3, 4, 5]))), '00000001 00000005 01020304 05000000');
    assert.equal(encode((w) => writePostOpFh3(w, undefined)), '00000000');
  });
});

describe('nfs3 types: sattr3 decoding', () => {
  it('[sattr3] every set_it FALSE / DONT_CHANGE → nothing to set', () => {
    const r = reader('00000000 00000000 00000000 00000000 00000000 00000000');
    assert.deepEqual(readSattr3(r), {});
    assert.equal(r.remaining, 0);
  });

  it('[sattr3] each field set; atime SET_TO_SERVER_TIME, mtime SET_TO_CLIENT_TIME', () => {
    const r = reader(
      [
        '00000001 000001ed', // mode 0755
        '00000001 00000000', // uid 0
        '00000001 00000005', // gid 5
        '00000001 00000000 00001000', // size 4096
        '00000001', // atime: SET_TO_SERVER_TIME
        '00000002 00000010 00000020', // mtime: SET_TO_CLIENT_TIME {16, 32}
      ].join(' '),
    );
    assert.deepEqual(readSattr3(r), { mode: 0o755, uid: 0, gid: 5, size: 4096, atime: 'now', mtime: { sec: 16, nsec: 32 } });
    assert.equal(r.remaining, 0);
  });

  it('[sattr3] atime SET_TO_CLIENT_TIME, mtime SET_TO_SERVER_TIME; mode keeps 07777 only', () => {
    const r = reader('00000001 000081a4 00000000 00000000 00000000 00000002 00000001 00000002 00000001');
    assert.deepEqual(readSattr3(r), { mode: 0o644, atime: { sec: 1, nsec: 2 }, mtime: 'now' });
  });

  it('[error] time_how 3 is not an enum value → XdrError', () => {
    assert.throws(() => readSattr3(reader('00000000 00000000 00000000 00000000 00000003')), XdrError);
  });

  it('[error] a bool of 2 → XdrError', () => {
    assert.throws(() => readSattr3(reader('00000002 00000000')), XdrError);
  });

  it('[error] truncated sattr3 → XdrError', () => {
    assert.throws(() => readSattr3(reader('00000001')), XdrError);
  });

  it('[error] size beyond 2^53 → NFS3ERR_FBIG', () => {
    assert.throws(
      () => readSattr3(reader('00000000 00000000 00000000 00000001 ffffffff ffffffff 00000000 00000000')),
      (e: unknown) => e instanceof NfsStatusError && e.status === 27,
    );
  });

  it('[sattrguard3] check FALSE → no guard; TRUE → obj_ctime', () => {
    assert.equal(readSattrGuard3(reader('00000000')), undefined);
    assert.deepEqual(readSattrGuard3(reader('00000001 00000007 00000008')), { sec: 7, nsec: 8 });
  });

  it('[createhow3] UNCHECKED and GUARDED carry sattr3; EXCLUSIVE an 8-byte verifier', () => {
    const zeros = '00000000 00000000 00000000 00000000 00000000 00000000';
    assert.deepEqual(readCreateHow3(reader(`00000000 ${zeros}`)), { kind: 'unchecked', attributes: {} });
    assert.deepEqual(readCreateHow3(reader(`00000001 00000001 000001a4 ${zeros.slice(9)}`)), {
      kind: 'guarded',
      attributes: { mode: 0o644 },
    });
    const ex = readCreateHow3(reader('00000002 01020304 05060708'));
    assert.deepEqual(ex, { kind: 'exclusive', verifier: Buffer.from('0102030405060708', 'hex') });
    assert.throws(() => readCreateHow3(reader('00000003')), XdrError);
  });
});
