// Whole replies as bytes, written out by hand from RFC 1813 section 3 (status word, then the
// resok or resfail arm). A fake file system supplies fixed attributes so the vectors are exact.
import assert from 'node:assert/strict';
import { fakeFileSystem } from '../../../test/support/fake-file-system';
import { callNfs3, words } from '../../../test/support/nfs3-call';
import { SAMPLE_ATTRS, SAMPLE_FATTR3 } from '../../../test/support/nfs3-samples';
import { FsError, type Attributes, type DirEntry, type FileSystem, type ReadDirOptions } from '../../vfs';
import { ExportRegistry, type Export } from '../exports';
import { HandleCodec } from '../handles';
import type { RpcProgram } from '../rpc/program';
import type { XdrWriter } from '../xdr';
import { Proc } from './constants';
import { createNfsProgram } from './program';

const VERIFIER = Buffer.from('5645524946494552', 'hex');
const DIR: Attributes = { ...SAMPLE_ATTRS, type: 'dir', ino: 2 };

/** SAMPLE_FATTR3 with the type word, fsid and fileid of this test's object. */
function fattr(exp: Export, type = 1, ino = 42): string {
  const w = SAMPLE_FATTR3.split(' ');
  w[0] = type.toString(16).padStart(8, '0');
  const id = exp.id.toString(16).padStart(16, '0');
  w[11] = id.slice(0, 8);
  w[12] = id.slice(8);
  w[14] = ino.toString(16).padStart(8, '0');
  return w.join(' ');
}

interface Setup {
  program: RpcProgram;
  exp: Export;
  codec: HandleCodec;
  fh: (ino: number, gen?: number) => Buffer;
}

function setup(overrides: Partial<FileSystem>): Setup {
  const fs = fakeFileSystem((ino) => (ino === 2 ? DIR : { ...SAMPLE_ATTRS, ino }), overrides);
  const exports = new ExportRegistry();
  const exp = exports.add('data', fs);
  const codec = new HandleCodec(Buffer.alloc(32, 7));
  const program = createNfsProgram({ exports, handles: codec, writeVerifier: VERIFIER });
  return { program, exp, codec, fh: (ino, gen = 9) => codec.encode(exp.id, ino, gen) };
}

function entries(names: string[]): DirEntry[] {
  return names.map((name, i) => ({ name, ino: 5 + i, cookie: BigInt(i + 1), attributes: { ...SAMPLE_ATTRS, ino: 5 + i } }));
}

function readdirArgs(fh: Buffer, count: number, plus?: number): (w: XdrWriter) => void {
  return (w) => {
    w.opaque(fh).uint64(0n).fixedOpaque(Buffer.alloc(8));
    if (plus !== undefined) w.uint32(plus);
    w.uint32(count);
  };
}

describe('nfs3 replies: byte layouts', () => {
  it('[LOOKUP] failure: status NOENT, then post_op_attr of the directory', async () => {
    const s = setup({ lookup: () => Promise.reject(new FsError('ENOENT')) });
    const rep = await callNfs3(s.program, Proc.LOOKUP, (w) => w.opaque(s.fh(2)).string('missing'));
    assert.equal(words(rep.bytes), `00000002 00000001 ${fattr(s.exp, 2, 2)}`);
  });

  it('[LOOKUP] success: nfs_fh3, obj post_op_attr, dir post_op_attr', async () => {
    const s = setup({
      lookup: () => Promise.resolve({ ino: 42, attributes: SAMPLE_ATTRS, dirAttributes: DIR }),
    });
    const rep = await callNfs3(s.program, Proc.LOOKUP, (w) => w.opaque(s.fh(2)).string('f'));
    const handle = s.fh(42, 9).toString('hex').match(/.{8}/g)!.join(' ');
    assert.equal(words(rep.bytes), `00000000 00000028 ${handle} 00000001 ${fattr(s.exp)} 00000001 ${fattr(s.exp, 2, 2)}`);
  });

  it('[READ] count, eof, opaque data padded to 4 bytes, data attached by reference', async () => {
    const data = Buffer.from('abcde');
    const s = setup({ read: () => Promise.resolve({ data, eof: true, attributes: SAMPLE_ATTRS }) });
    const rep = await callNfs3(s.program, Proc.READ, (w) => w.opaque(s.fh(42)).uint64(0n).uint32(5));
    assert.equal(words(rep.bytes), `00000000 00000001 ${fattr(s.exp)} 00000005 00000001 00000005 61626364 65000000`);
    assert.ok(rep.writer.chunks().some((c) => c === data), 'the data buffer itself is in the reply, not a copy');
  });

  it('[READ] a count above rtmax asks the file system for 1 MiB only', async () => {
    const s = setup({ read: (_c, _i, _o, count) => Promise.resolve({ data: Buffer.alloc(count), eof: false, attributes: SAMPLE_ATTRS }) });
    const rep = await callNfs3(s.program, Proc.READ, (w) => w.opaque(s.fh(42)).uint64(0n).uint32(4 * 1024 * 1024));
    assert.equal(rep.status, 0);
    rep.r.skip(88);
    assert.equal(rep.r.uint32(), 1024 * 1024);
  });

  it('[READDIR] entry3 layout: value_follows, fileid, name, cookie; then FALSE and eof', async () => {
    const s = setup({
      readdir: () => Promise.resolve({ entries: entries(['a', 'hello']), eof: true, verifier: VERIFIER, dirAttributes: DIR }),
    });
    const rep = await callNfs3(s.program, Proc.READDIR, readdirArgs(s.fh(2), 4096));
    assert.equal(
      words(rep.bytes),
      [
        `00000000 00000001 ${fattr(s.exp, 2, 2)}`,
        '56455249 46494552',
        '00000001 00000000 00000005 00000001 61000000 00000000 00000001',
        '00000001 00000000 00000006 00000005 68656c6c 6f000000 00000000 00000002',
        '00000000 00000001',
      ].join(' '),
    );
  });

  it('[WRITE] wcc_data, count, committed, verifier', async () => {
    const before = { size: 0, mtime: { sec: 1, nsec: 0 }, ctime: { sec: 1, nsec: 0 } };
    const s = setup({
      write: (_c, _i, _o, data) => Promise.resolve({ count: data.length, committed: 'data-sync', file: { before, after: SAMPLE_ATTRS } }),
    });
    const rep = await callNfs3(s.program, Proc.WRITE, (w) => w.opaque(s.fh(42)).uint64(0n).uint32(3).uint32(1).opaque(Buffer.from('xyz')));
    assert.equal(
      words(rep.bytes),
      `00000000 00000001 00000000 00000000 00000001 00000000 00000001 00000000 00000001 ${fattr(s.exp)} 00000003 00000001 56455249 46494552`,
    );
  });

  it('[FSINFO] sizes, maxfilesize, time_delta, properties', async () => {
    const s = setup({});
    const rep = await callNfs3(s.program, Proc.FSINFO, (w) => w.opaque(s.fh(2)));
    rep.r.skip(88);
    const rest = words(rep.bytes.subarray(rep.r.offset));
    assert.equal(rest, '00100000 00100000 00001000 00100000 00100000 00001000 00010000 00000100 00000000 00000000 000f4240 0000001b');
  });

  it('[PATHCONF] linkmax, name_max 255, no_trunc, chown_restricted, case flags', async () => {
    const s = setup({});
    const rep = await callNfs3(s.program, Proc.PATHCONF, (w) => w.opaque(s.fh(2)));
    rep.r.skip(88);
    assert.equal(words(rep.bytes.subarray(rep.r.offset)), '00007d00 000000ff 00000001 00000001 00000000 00000001');
  });

  it('[FSSTAT] six size3 values and invarsec 0', async () => {
    const s = setup({
      fsstat: () =>
        Promise.resolve({ totalBytes: 2 ** 33, freeBytes: 1, availableBytes: 2, totalFiles: 3, freeFiles: 4, availableFiles: 5 }),
    });
    const rep = await callNfs3(s.program, Proc.FSSTAT, (w) => w.opaque(s.fh(2)));
    rep.r.skip(88);
    assert.equal(
      words(rep.bytes.subarray(rep.r.offset)),
      '00000002 00000000 00000000 00000001 00000000 00000002 00000000 00000003 00000000 00000004 00000000 00000005 00000000',
    );
  });
});

describe('nfs3 replies: READDIR byte budgets', () => {
  // resok outside the entries: post_op_attr 88 + cookieverf 8 + end 4 + eof 4 = 104.
  // entry3 "a" = 4+8+4+4+8 = 28, "hello" = 4+8+4+8+8 = 32.
  function dirSetup(names: string[], seen: ReadDirOptions[] = []): Setup {
    return setup({
      readdir: (_c, _d, o) => {
        seen.push(o);
        return Promise.resolve({ entries: entries(names), eof: true, verifier: VERIFIER, dirAttributes: DIR });
      },
    });
  }

  async function names(s: Setup, proc: number, args: (w: XdrWriter) => void): Promise<{ status: number; names: string[]; eof?: boolean }> {
    const rep = await callNfs3(s.program, proc, args);
    if (rep.status !== 0) return { status: rep.status, names: [] };
    rep.r.skip(88 + 8);
    const out: string[] = [];
    while (rep.r.bool()) {
      rep.r.uint64();
      out.push(rep.r.string(255));
      rep.r.uint64();
      if (proc === Proc.READDIRPLUS) {
        if (rep.r.bool()) rep.r.skip(84);
        if (rep.r.bool()) rep.r.opaque(64);
      }
    }
    return { status: 0, names: out, eof: rep.r.bool() };
  }

  it('[count] exactly enough for both entries → both and eof', async () => {
    const s = dirSetup(['a', 'hello']);
    assert.deepEqual(await names(s, Proc.READDIR, readdirArgs(s.fh(2), 164)), { status: 0, names: ['a', 'hello'], eof: true });
  });

  it('[count] one byte less → first entry only, eof FALSE', async () => {
    const s = dirSetup(['a', 'hello']);
    assert.deepEqual(await names(s, Proc.READDIR, readdirArgs(s.fh(2), 163)), { status: 0, names: ['a'], eof: false });
  });

  it('[error] not even one entry fits → NFS3ERR_TOOSMALL', async () => {
    const s = dirSetup(['a', 'hello']);
    assert.equal((await names(s, Proc.READDIR, readdirArgs(s.fh(2), 131))).status, 10005);
  });

  it('[count] an empty directory needs only the fixed 104 bytes', async () => {
    const s = dirSetup([]);
    assert.deepEqual(await names(s, Proc.READDIR, readdirArgs(s.fh(2), 104)), { status: 0, names: [], eof: true });
    assert.equal((await names(s, Proc.READDIR, readdirArgs(s.fh(2), 103))).status, 10005);
  });

  it('[maxcount] entryplus3 = entry3 + 88 attributes + 48 handle', async () => {
    const s = dirSetup(['a', 'hello']);
    const all = 104 + 28 + 136 + 32 + 136;
    assert.deepEqual((await names(s, Proc.READDIRPLUS, readdirArgs(s.fh(2), all, 1000))).names, ['a', 'hello']);
    assert.deepEqual((await names(s, Proc.READDIRPLUS, readdirArgs(s.fh(2), all - 1, 1000))).names, ['a']);
  });

  it('[dircount] counts entry3 bytes only', async () => {
    const s = dirSetup(['a', 'hello']);
    assert.deepEqual((await names(s, Proc.READDIRPLUS, readdirArgs(s.fh(2), 65536, 60))).names, ['a', 'hello']);
    assert.deepEqual((await names(s, Proc.READDIRPLUS, readdirArgs(s.fh(2), 65536, 59))).names, ['a']);
    assert.equal((await names(s, Proc.READDIRPLUS, readdirArgs(s.fh(2), 65536, 27))).status, 10005);
  });

  it('[maxEntries] asks the file system for no more than could fit', async () => {
    const seen: ReadDirOptions[] = [];
    const s = dirSetup(['a'], seen);
    await names(s, Proc.READDIR, readdirArgs(s.fh(2), 104 + 28 * 3));
    await names(s, Proc.READDIRPLUS, readdirArgs(s.fh(2), 65536, 28 * 2));
    assert.deepEqual(
      seen.map((o) => [o.maxEntries, o.withAttributes]),
      [
        [3, false],
        [2, true],
      ],
    );
  });
});
