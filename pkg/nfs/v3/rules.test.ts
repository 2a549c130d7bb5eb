// The NFS layer's own rules, independent of any file system's behaviour: handle resolution,
// credentials and squashing, file name rules, read-only exports, error mapping. A fake file
// system with canned answers records what reaches it.
import assert from 'node:assert/strict';
import winston from 'winston';
import { fakeFileSystem, type FakeFileSystem } from '../../../test/support/fake-file-system';
import { callNfs3, words } from '../../../test/support/nfs3-call';
import { SAMPLE_ATTRS } from '../../../test/support/nfs3-samples';
import { FsError, type Attributes, type Credentials, type FileSystem } from '../../vfs';
import { ExportRegistry, type Export, type ExportOptions } from '../exports';
import { HandleCodec } from '../handles';
import type { RpcProgram } from '../rpc/program';
import { XdrError, type XdrWriter } from '../xdr';
import { Proc } from './constants';
import { createNfsProgram } from './program';

const DIR: Attributes = { ...SAMPLE_ATTRS, type: 'dir', ino: 2 };
const ROOT_CRED: Credentials = { uid: 0, gid: 0, gids: [] };
const CREATED = { ino: 42, attributes: SAMPLE_ATTRS, dir: { after: DIR } };

interface Setup {
  program: RpcProgram;
  exports: ExportRegistry;
  exp: Export;
  fs: FakeFileSystem;
  fh: (ino: number, gen?: number) => Buffer;
}

function setup(overrides: Partial<FileSystem> = {}, options: Partial<ExportOptions> = {}): Setup {
  const fs = fakeFileSystem((ino) => (ino === 2 ? DIR : { ...SAMPLE_ATTRS, ino }), overrides, 2);
  const exports = new ExportRegistry();
  const exp = exports.add('data', fs, options);
  const codec = new HandleCodec(Buffer.alloc(32, 7));
  const logger = winston.createLogger({ silent: true });
  const program = createNfsProgram({ exports, handles: codec, writeVerifier: Buffer.alloc(8, 1), logger });
  return { program, exports, exp, fs, fh: (ino, gen = 9) => codec.encode(exp.id, ino, gen) };
}

const dirop = (fh: Buffer, name: string | Buffer) => (w: XdrWriter) => {
  w.opaque(fh);
  if (typeof name === 'string') w.string(name);
  else w.opaque(name);
};
const createArgs = (fh: Buffer, name: string | Buffer) => (w: XdrWriter) => {
  dirop(fh, name)(w);
  w.uint32(0).uint32(0).uint32(0).uint32(0).uint32(0).uint32(0).uint32(0); // UNCHECKED, empty sattr3
};

describe('nfs3 rules: handles', () => {
  it('[error] a handle that is not ours → NFS3ERR_BADHANDLE, GETATTR failure body void', async () => {
    const s = setup();
    const rep = await callNfs3(s.program, Proc.GETATTR, (w) => w.opaque(Buffer.alloc(40, 0xaa)));
    assert.equal(words(rep.bytes), '00002711');
  });

  it('[error] a handle longer than NFS3_FHSIZE (64) → XdrError (GARBAGE_ARGS)', async () => {
    const s = setup();
    await assert.rejects(callNfs3(s.program, Proc.GETATTR, (w) => w.opaque(Buffer.alloc(65))), XdrError);
  });

  it("[error] another node's secret → NFS3ERR_BADHANDLE", async () => {
    const s = setup();
    const foreign = new HandleCodec(Buffer.alloc(32, 8)).encode(s.exp.id, 42, 9);
    assert.equal((await callNfs3(s.program, Proc.GETATTR, (w) => w.opaque(foreign))).status, 10001);
  });

  it('[error] handle of a removed export → NFS3ERR_STALE', async () => {
    const s = setup();
    const fh = s.fh(42);
    s.exports.remove('data');
    assert.equal((await callNfs3(s.program, Proc.GETATTR, (w) => w.opaque(fh))).status, 70);
  });

  it('[error] generation differs (inode re-used) → NFS3ERR_STALE', async () => {
    const s = setup();
    assert.equal((await callNfs3(s.program, Proc.GETATTR, (w) => w.opaque(s.fh(42, 8)))).status, 70);
  });

  it('[error] the file system says ENOENT for the inode → NFS3ERR_STALE', async () => {
    const s = setup({ getattr: () => Promise.reject(new FsError('ENOENT')) });
    assert.equal((await callNfs3(s.program, Proc.GETATTR, (w) => w.opaque(s.fh(42)))).status, 70);
  });

  it('[error] RENAME across exports → NFS3ERR_XDEV with both wcc_data', async () => {
    const s = setup();
    const other = s.exports.add('other', s.fs);
    const otherFh = new HandleCodec(Buffer.alloc(32, 7)).encode(other.id, 2, 9);
    const rep = await callNfs3(s.program, Proc.RENAME, (w) => {
      dirop(s.fh(2), 'a')(w);
      dirop(otherFh, 'b')(w);
    });
    assert.equal(rep.status, 18);
    assert.equal(rep.bytes.length, 4 + 2 * (4 + 4 + 84));
  });
});

describe('nfs3 rules: credentials', () => {
  async function credSeen(cred: Credentials | 'none', options: Partial<ExportOptions>): Promise<unknown> {
    const s = setup({ access: () => Promise.resolve({ granted: 0x3f, attributes: SAMPLE_ATTRS }) }, options);
    await callNfs3(s.program, Proc.ACCESS, (w) => w.opaque(s.fh(42)).uint32(0x3f), cred);
    return s.fs.calls.find((c) => c.method === 'access')?.args[0];
  }

  it('[cred] AUTH_SYS uid, gid and groups are passed on', async () => {
    assert.deepEqual(await credSeen({ uid: 1000, gid: 100, gids: [4, 5] }, {}), { uid: 1000, gid: 100, gids: [4, 5] });
  });

  it("[cred] AUTH_NONE is the export's anonymous identity", async () => {
    assert.deepEqual(await credSeen('none', { anonUid: 99, anonGid: 98 }), { uid: 99, gid: 98, gids: [] });
  });

  it('[cred] root_squash maps uid 0; all_squash maps everyone', async () => {
    assert.deepEqual(await credSeen(ROOT_CRED, { rootSquash: true }), { uid: 65534, gid: 65534, gids: [] });
    assert.deepEqual(await credSeen({ uid: 5, gid: 5, gids: [] }, { allSquash: true }), { uid: 65534, gid: 65534, gids: [] });
  });

  it('[cred] root_squash also maps gid 0 and group 0 of a non-root caller (exports(5), as knfsd)', async () => {
    assert.deepEqual(await credSeen({ uid: 1000, gid: 0, gids: [] }, { rootSquash: true }), { uid: 1000, gid: 65534, gids: [] });
    assert.deepEqual(await credSeen({ uid: 1000, gid: 100, gids: [4, 0, 5] }, { rootSquash: true }), { uid: 1000, gid: 100, gids: [4, 65534, 5] });
    assert.deepEqual(await credSeen({ uid: 0, gid: 0, gids: [0, 7] }, { rootSquash: true, anonUid: 99, anonGid: 98 }), { uid: 99, gid: 98, gids: [98, 7] });
    // Without squashing, gid 0 is the caller's own business.
    assert.deepEqual(await credSeen({ uid: 1000, gid: 0, gids: [0] }, {}), { uid: 1000, gid: 0, gids: [0] });
  });
});

describe('nfs3 rules: read-only exports', () => {
  it('[ACCESS] never grants MODIFY, EXTEND or DELETE', async () => {
    const s = setup({ access: () => Promise.resolve({ granted: 0x3f, attributes: SAMPLE_ATTRS }) }, { readOnly: true });
    const rep = await callNfs3(s.program, Proc.ACCESS, (w) => w.opaque(s.fh(42)).uint32(0x3f));
    rep.r.skip(88);
    assert.equal(rep.r.uint32(), 0x23);
  });

  const mutating: [string, number, (s: Setup) => (w: XdrWriter) => void][] = [
    ['SETATTR', Proc.SETATTR, (s) => (w) => w.opaque(s.fh(42)).uint32(0).uint32(0).uint32(0).uint32(0).uint32(0).uint32(0).uint32(0)],
    ['WRITE', Proc.WRITE, (s) => (w) => w.opaque(s.fh(42)).uint64(0n).uint32(1).uint32(2).opaque(Buffer.from('x'))],
    ['CREATE', Proc.CREATE, (s) => createArgs(s.fh(2), 'f')],
    ['REMOVE', Proc.REMOVE, (s) => dirop(s.fh(2), 'f')],
    ['RMDIR', Proc.RMDIR, (s) => dirop(s.fh(2), 'd')],
    ['LINK', Proc.LINK, (s) => (w) => dirop(s.fh(2), 'l')(w.opaque(s.fh(42)))],
  ];
  for (const [name, proc, args] of mutating) {
    it(`[error] ${name} → NFS3ERR_ROFS, file system untouched`, async () => {
      const s = setup({}, { readOnly: true });
      const rep = await callNfs3(s.program, proc, args(s));
      assert.equal(rep.status, 30);
      assert.deepEqual(
        s.fs.calls.map((c) => c.method).filter((m) => m !== 'getattr'),
        [],
      );
    });
  }

  it('[error] MKDIR, SYMLINK, MKNOD, RENAME → NFS3ERR_ROFS', async () => {
    const s = setup({}, { readOnly: true });
    const sattr = (w: XdrWriter) => w.uint32(0).uint32(0).uint32(0).uint32(0).uint32(0).uint32(0);
    const cases: [number, (w: XdrWriter) => void][] = [
      [Proc.MKDIR, (w) => sattr(w.opaque(s.fh(2)).string('d'))],
      [Proc.SYMLINK, (w) => sattr(w.opaque(s.fh(2)).string('l')).string('target')],
      [Proc.MKNOD, (w) => sattr(w.opaque(s.fh(2)).string('p').uint32(7))],
      [Proc.RENAME, (w) => w.opaque(s.fh(2)).string('a').opaque(s.fh(2)).string('b')],
    ];
    for (const [proc, args] of cases) assert.equal((await callNfs3(s.program, proc, args)).status, 30, `proc ${proc}`);
  });

  it('[failure body] CREATE on a read-only export: wcc_data with no pre-op and fresh post-op attributes', async () => {
    const s = setup({}, { readOnly: true });
    const rep = await callNfs3(s.program, Proc.CREATE, createArgs(s.fh(2), 'f'));
    assert.equal(words(rep.bytes.subarray(0, 12)), '0000001e 00000000 00000001');
    assert.equal(rep.bytes.length, 4 + 4 + 4 + 84);
  });
});

describe('nfs3 rules: file names (RFC 1813 section 3.2)', () => {
  const cases: [string, string | Buffer, number][] = [
    ['empty', '', 13],
    ['256 bytes', 'x'.repeat(256), 63],
    ['a slash', 'a/b', 13],
    ['a NUL', Buffer.from('a\0b'), 13],
    ['not UTF-8', Buffer.from([0x61, 0xff]), 13],
    ['"."', '.', 17],
    ['".."', '..', 17],
  ];
  for (const [what, name, status] of cases) {
    it(`[error] CREATE with ${what} → ${status}`, async () => {
      const s = setup({ create: () => Promise.resolve(CREATED) });
      assert.equal((await callNfs3(s.program, Proc.CREATE, createArgs(s.fh(2), name))).status, status);
      assert.equal(s.fs.calls.filter((c) => c.method === 'create').length, 0);
    });
  }

  it('[name] 255 bytes is accepted', async () => {
    const s = setup({ create: () => Promise.resolve(CREATED) });
    assert.equal((await callNfs3(s.program, Proc.CREATE, createArgs(s.fh(2), 'é'.repeat(127) + 'x'))).status, 0);
  });

  it('[error] REMOVE and RMDIR of "." or ".." → NFS3ERR_INVAL', async () => {
    const s = setup();
    for (const proc of [Proc.REMOVE, Proc.RMDIR]) {
      for (const n of ['.', '..']) assert.equal((await callNfs3(s.program, proc, dirop(s.fh(2), n))).status, 22);
    }
  });

  it('[LOOKUP] "." is the directory itself; ".." of the export root is the root', async () => {
    const s = setup({ access: () => Promise.resolve({ granted: 0x02, attributes: DIR }) });
    for (const n of ['.', '..']) {
      const rep = await callNfs3(s.program, Proc.LOOKUP, dirop(s.fh(2), n));
      assert.equal(rep.status, 0);
      assert.deepEqual(rep.r.opaque(64), s.fh(2));
    }
    assert.equal(s.fs.calls.filter((c) => c.method === 'lookup').length, 0);
  });

  it('[error] LOOKUP "." without search permission → NFS3ERR_ACCES', async () => {
    const s = setup({ access: () => Promise.resolve({ granted: 0, attributes: DIR }) });
    assert.equal((await callNfs3(s.program, Proc.LOOKUP, dirop(s.fh(2), '.'))).status, 13);
  });
});

describe('nfs3 rules: arguments and errors', () => {
  it('[error] WRITE whose count differs from the data length → XdrError (GARBAGE_ARGS)', async () => {
    const s = setup();
    await assert.rejects(
      callNfs3(s.program, Proc.WRITE, (w) => w.opaque(s.fh(42)).uint64(0n).uint32(4).uint32(0).opaque(Buffer.from('xyz'))),
      XdrError,
    );
  });

  it('[error] MKNOD of NF3REG, NF3DIR, NF3LNK → NFS3ERR_BADTYPE', async () => {
    const s = setup();
    for (const t of [1, 2, 5]) {
      assert.equal((await callNfs3(s.program, Proc.MKNOD, (w) => w.opaque(s.fh(2)).string('n').uint32(t))).status, 10007);
    }
  });

  it('[MKNOD] NF3CHR passes sattr3 and specdata3 through', async () => {
    const s = setup({ mknod: () => Promise.resolve(CREATED) });
    const rep = await callNfs3(s.program, Proc.MKNOD, (w) =>
      w.opaque(s.fh(2)).string('tty').uint32(4).uint32(1).uint32(0o620).uint32(0).uint32(0).uint32(0).uint32(0).uint32(0).uint32(4).uint32(64),
    );
    assert.equal(rep.status, 0);
    const call = s.fs.calls.find((c) => c.method === 'mknod');
    assert.deepEqual(call?.args.slice(2), ['tty', 'char', { mode: 0o620 }, { major: 4, minor: 64 }]);
  });

  it('[error] an unknown exception from the file system → NFS3ERR_IO, never thrown', async () => {
    const s = setup({ readlink: () => Promise.reject(new TypeError('bug')) });
    const rep = await callNfs3(s.program, Proc.READLINK, (w) => w.opaque(s.fh(42)));
    assert.equal(rep.status, 5);
    assert.equal(rep.r.bool(), true, 'post_op_attr still follows');
  });

  it('[error] SETATTR guard mismatch (ENOTSYNC) → NFS3ERR_NOT_SYNC', async () => {
    const s = setup({ setattr: () => Promise.reject(new FsError('ENOTSYNC')) });
    const rep = await callNfs3(s.program, Proc.SETATTR, (w) =>
      w.opaque(s.fh(42)).uint32(0).uint32(0).uint32(0).uint32(0).uint32(0).uint32(0).uint32(1).uint32(1).uint32(2),
    );
    assert.equal(rep.status, 10002);
    assert.deepEqual(s.fs.calls.find((c) => c.method === 'setattr')?.args[3], { sec: 1, nsec: 2 });
  });

  it('[COMMIT] returns wcc_data and the write verifier', async () => {
    const s = setup({ commit: () => Promise.resolve({ after: SAMPLE_ATTRS }) });
    const rep = await callNfs3(s.program, Proc.COMMIT, (w) => w.opaque(s.fh(42)).uint64(0n).uint32(0));
    assert.equal(rep.status, 0);
    assert.equal(words(rep.bytes.subarray(rep.bytes.length - 8)), '01010101 01010101');
  });

  it('[NULL] answers nothing', async () => {
    const s = setup();
    const rep = await callNfs3(s.program, Proc.NULL, () => {});
    assert.equal(rep.bytes.length, 0);
  });

  it('[program] registers all 22 procedures of version 3', () => {
    const s = setup();
    assert.equal(s.program.program, 100003);
    assert.deepEqual([...(s.program.versions.get(3)?.keys() ?? [])].sort((a, b) => a - b), [...Array(22).keys()]);
  });
});
