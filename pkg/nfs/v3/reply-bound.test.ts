import assert from 'node:assert/strict';
import { XdrWriter } from '../xdr';
import { NFS_V3, Proc, READ_MAX } from './constants';
import { nfs3ReplyBytesBound } from './reply-bound';

const fh = Buffer.alloc(30, 1); // padded to 32 on the wire

describe('nfs3 reply bounds (reply memory reserved before a call runs)', () => {
  it('READ: the count asked for, capped at rtmax, plus header room', () => {
    const args = (count: number) => Buffer.from(new XdrWriter().opaque(fh).uint64(5n).uint32(count).toBuffer());
    assert.equal(nfs3ReplyBytesBound(NFS_V3, Proc.READ, args(4096)), 4096 + 256);
    assert.equal(nfs3ReplyBytesBound(NFS_V3, Proc.READ, args(0xffffffff)), READ_MAX + 256);
  });

  it('READDIRPLUS: maxcount; READDIR: count; others and truncated arguments: no bound', () => {
    const plus = Buffer.from(new XdrWriter().opaque(fh).uint64(0n).fixedOpaque(Buffer.alloc(8)).uint32(8192).uint32(65536).toBuffer());
    assert.equal(nfs3ReplyBytesBound(NFS_V3, Proc.READDIRPLUS, plus), 65536 + 256);
    const dir = Buffer.from(new XdrWriter().opaque(fh).uint64(0n).fixedOpaque(Buffer.alloc(8)).uint32(32768).toBuffer());
    assert.equal(nfs3ReplyBytesBound(NFS_V3, Proc.READDIR, dir), 32768 + 256);
    assert.equal(nfs3ReplyBytesBound(NFS_V3, Proc.GETATTR, Buffer.from(new XdrWriter().opaque(fh).toBuffer())), undefined);
    assert.equal(nfs3ReplyBytesBound(NFS_V3, Proc.READ, plus.subarray(0, 10)), undefined);
  });
});
