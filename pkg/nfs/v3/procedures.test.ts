// Procedure-level tests against the real file system (pkg/cache in a temporary directory):
// arguments built with XdrWriter, replies parsed by their RFC 1813 layout, handlers called
// directly. What the client would see, minus the socket.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { DirectNfs3Client, P } from '../../../test/support/nfs3-direct-client';
import { openCacheFileSystem } from '../../cache';
import type { FileSystem } from '../../vfs';
import { ExportRegistry, type Export } from '../exports';
import { HandleCodec } from '../handles';
import { createNfsProgram } from './program';

const OK = 0;
const VERIFIER = Buffer.from('0011223344556677', 'hex');
const ZERO_VERF = Buffer.alloc(8);

interface World {
  dir: string;
  fs: FileSystem;
  exports: ExportRegistry;
  exp: Export;
  codec: HandleCodec;
  nfs: DirectNfs3Client;
  root: Buffer;
}

async function openWorld(): Promise<World> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 's3files-nfs3-'));
  const fs = await openCacheFileSystem({ dir });
  const exports = new ExportRegistry();
  const exp = exports.add('data', fs);
  const codec = new HandleCodec(randomBytes(32));
  const logger = winston.createLogger({ silent: true });
  const nfs = new DirectNfs3Client(createNfsProgram({ exports, handles: codec, writeVerifier: VERIFIER, logger }));
  const rootAttrs = await fs.getattr(fs.rootIno);
  const root = codec.encode(exp.id, fs.rootIno, rootAttrs.generation);
  return { dir, fs, exports, exp, codec, nfs, root };
}

async function closeWorld(w: World): Promise<void> {
  await w.fs.close();
  await rm(w.dir, { recursive: true, force: true });
}

describe('nfs3 procedures on the cache file system', function () {
  let w: World;
  beforeEach(async () => {
    w = await openWorld();
  });
  afterEach(async () => {
    await closeWorld(w);
  });

  async function file(name: string, data?: Buffer): Promise<Buffer> {
    const c = await w.nfs.create(w.root, name);
    assert.equal(c.status, OK, `CREATE ${name}`);
    assert.ok(c.fh);
    if (data) assert.equal((await w.nfs.write(c.fh, 0, data, 2)).status, OK);
    return c.fh;
  }

  async function subdir(parent: Buffer, name: string): Promise<Buffer> {
    const c = await w.nfs.mkdir(parent, name);
    assert.equal(c.status, OK, `MKDIR ${name}`);
    assert.ok(c.fh);
    return c.fh;
  }

  it('[round trip] CREATE, WRITE unstable, COMMIT, READ the same bytes', async () => {
    const c = await w.nfs.create(w.root, 'hello.bin');
    assert.equal(c.status, OK);
    assert.equal(c.attrs?.type, 1);
    assert.equal(c.attrs?.fsid, w.exp.id, 'fsid is the export id');
    assert.ok(c.dirWcc.after, 'dir_wcc has post-op attributes');
    const data = randomBytes(1024 * 1024);
    const wr = await w.nfs.write(c.fh!, 0, data, 0);
    assert.equal(wr.status, OK);
    assert.equal(wr.count, data.length);
    assert.ok(wr.committed !== undefined && wr.committed >= 0);
    assert.deepEqual(wr.verf, VERIFIER);
    assert.equal(wr.wcc.after?.size, data.length);
    const cm = await w.nfs.commit(c.fh!);
    assert.equal(cm.status, OK);
    assert.deepEqual(cm.verf, VERIFIER);
    const rd = await w.nfs.read(c.fh!, 0, data.length);
    assert.equal(rd.status, OK);
    assert.equal(rd.eof, true);
    assert.ok(rd.data?.equals(data), 'read back what was written');
    const tail = await w.nfs.read(c.fh!, data.length - 3, 100);
    assert.deepEqual([tail.data?.length, tail.eof], [3, true]);
  });

  it('[WRITE] FILE_SYNC is answered FILE_SYNC', async () => {
    const fh = await file('sync');
    const wr = await w.nfs.write(fh, 0, Buffer.from('durable'), 2);
    assert.deepEqual([wr.status, wr.committed], [OK, 2]);
  });

  it('[error] LOOKUP of a missing name → NFS3ERR_NOENT with the directory attributes', async () => {
    const res = await w.nfs.lookup(w.root, 'missing');
    assert.equal(res.status, 2);
    assert.equal(res.dirAttrs?.type, 2);
    assert.equal(res.dirAttrs?.fileid, w.fs.rootIno);
  });

  it('[LOOKUP] ".." of a subdirectory is its parent; "." is itself', async () => {
    const d = await subdir(w.root, 'sub');
    assert.deepEqual((await w.nfs.lookup(d, '..')).fh, w.root);
    assert.deepEqual((await w.nfs.lookup(d, '.')).fh, d);
    assert.deepEqual((await w.nfs.lookup(w.root, '..')).fh, w.root);
  });

  it('[wcc_data] CREATE and REMOVE report the directory before and after', async () => {
    const c = await w.nfs.create(w.root, 'wcc');
    assert.ok(c.dirWcc.before && c.dirWcc.after, 'pre-op and post-op attributes');
    const r = await w.nfs.remove(w.root, 'wcc');
    assert.equal(r.status, OK);
    assert.ok(r.wcc.before && r.wcc.after);
    const again = await w.nfs.remove(w.root, 'wcc');
    assert.equal(again.status, 2);
    assert.equal(again.wcc.before, undefined, 'no pre-op attributes on failure');
    assert.equal(again.wcc.after?.fileid, w.fs.rootIno);
  });

  it('[error] READ of a directory and WRITE to a directory → NFS3ERR_ISDIR', async () => {
    const d = await subdir(w.root, 'notafile');
    assert.equal((await w.nfs.read(d, 0, 10)).status, 21);
    assert.equal((await w.nfs.write(d, 0, Buffer.from('x'))).status, 21);
  });

  it('[LOOKUP] finds what CREATE made; the handles agree', async () => {
    const fh = await file('a.txt');
    const res = await w.nfs.lookup(w.root, 'a.txt');
    assert.equal(res.status, OK);
    assert.deepEqual(res.fh, fh);
  });

  it('[error] a bogus handle → NFS3ERR_BADHANDLE', async () => {
    assert.equal((await w.nfs.getattr(randomBytes(40))).status, 10001);
    assert.equal((await w.nfs.getattr(Buffer.alloc(8))).status, 10001);
  });

  it("[error] a handle made with another node's secret → NFS3ERR_BADHANDLE", async () => {
    const foreign = new HandleCodec(randomBytes(32)).encode(w.exp.id, w.fs.rootIno, 0);
    assert.equal((await w.nfs.getattr(foreign)).status, 10001);
  });

  it('[error] a handle from a removed export → NFS3ERR_STALE', async () => {
    const fh = await file('f');
    w.exports.remove('data');
    assert.equal((await w.nfs.getattr(fh)).status, 70);
    assert.equal((await w.nfs.read(fh, 0, 10)).status, 70);
  });

  it('[error] the handle of a removed file → NFS3ERR_STALE', async () => {
    const fh = await file('gone');
    assert.equal((await w.nfs.remove(w.root, 'gone')).status, OK);
    assert.equal((await w.nfs.getattr(fh)).status, 70);
  });

  it('[READDIR] paging with a small count returns every name exactly once, within count', async () => {
    const names = Array.from({ length: 60 }, (_, i) => `file-${i}-${'x'.repeat(i % 17)}`);
    for (const n of names) await file(n);
    const seen: string[] = [];
    let cookie = 0n;
    let verf: Buffer = ZERO_VERF;
    let pagesUsed = 0;
    for (let pages = 0; ; pages++) {
      assert.ok(pages < 200, 'terminates');
      const page = await w.nfs.readdir(w.root, cookie, verf, 400);
      assert.equal(page.status, OK);
      assert.ok(page.resokBytes <= 400, `resok ${page.resokBytes} bytes within count`);
      assert.ok(page.entries.length > 0 || page.eof);
      for (const e of page.entries) seen.push(e.name);
      if (page.eof) {
        pagesUsed = pages + 1;
        break;
      }
      cookie = page.entries[page.entries.length - 1]!.cookie;
      verf = page.verf;
    }
    const real = seen.filter((n) => n !== '.' && n !== '..');
    assert.deepEqual([...real].sort(), [...names].sort());
    assert.equal(new Set(seen).size, seen.length, 'no name twice');
    assert.ok(pagesUsed > 5, `${pagesUsed} pages`);
  });

  it('[READDIRPLUS] every entry has attributes and a handle GETATTR accepts', async () => {
    await file('one', Buffer.from('1'));
    await subdir(w.root, 'two');
    const page = await w.nfs.readdirplus(w.root, 0n, ZERO_VERF, 4096, 32768);
    assert.equal(page.status, OK);
    assert.equal(page.eof, true);
    assert.ok(page.resokBytes <= 32768);
    const real = page.entries.filter((e) => e.name !== '.' && e.name !== '..');
    assert.deepEqual(real.map((e) => e.name).sort(), ['one', 'two']);
    for (const e of page.entries) {
      assert.ok(e.fh && e.attrs, `${e.name} has handle and attributes`);
      const got = await w.nfs.getattr(e.fh);
      assert.equal(got.status, OK);
      assert.equal(got.attrs?.fileid, e.fileid);
      assert.equal(e.attrs.fileid, e.fileid);
    }
  });

  it('[READDIRPLUS] paging by dircount returns every name once', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `entry${i}`);
    for (const n of names) await file(n);
    const seen: string[] = [];
    let cookie = 0n;
    let verf: Buffer = ZERO_VERF;
    for (;;) {
      const page = await w.nfs.readdirplus(w.root, cookie, verf, 200, 8192);
      assert.equal(page.status, OK);
      seen.push(...page.entries.map((e) => e.name));
      if (page.eof) break;
      cookie = page.entries[page.entries.length - 1]!.cookie;
      verf = page.verf;
    }
    assert.deepEqual(seen.filter((n) => !n.startsWith('.')).sort(), [...names].sort());
  });

  it('[error] READDIR count too small for one entry → NFS3ERR_TOOSMALL', async () => {
    await file('some-file-name');
    assert.equal((await w.nfs.readdir(w.root, 0n, ZERO_VERF, 110)).status, 10005);
  });

  it('[SETATTR] guard: matching ctime applies, a different ctime → NFS3ERR_NOT_SYNC', async () => {
    const fh = await file('guarded');
    const ctime = (await w.nfs.getattr(fh)).attrs!.ctime;
    const bad = await w.nfs.setattr(fh, { mode: 0o600 }, { sec: ctime.sec + 1000, nsec: ctime.nsec });
    assert.equal(bad.status, 10002);
    assert.ok(bad.wcc.after, 'failure still carries wcc_data');
    const good = await w.nfs.setattr(fh, { mode: 0o600 }, ctime);
    assert.equal(good.status, OK);
    assert.equal(good.wcc.after?.mode, 0o600);
  });

  it('[SETATTR] size truncates', async () => {
    const fh = await file('trunc', Buffer.from('0123456789'));
    assert.equal((await w.nfs.setattr(fh, { size: 4 })).status, OK);
    assert.equal((await w.nfs.read(fh, 0, 100)).data?.toString(), '0123');
  });

  it('[error] a read-only export → NFS3ERR_ROFS for changes; ACCESS grants no MODIFY', async () => {
    await file('ro');
    const roExp = w.exports.add('ro', w.fs, { readOnly: true });
    const rootAttrs = await w.fs.getattr(w.fs.rootIno);
    const roRoot = w.codec.encode(roExp.id, w.fs.rootIno, rootAttrs.generation);
    assert.equal((await w.nfs.create(roRoot, 'new')).status, 30);
    assert.equal((await w.nfs.mkdir(roRoot, 'newdir')).status, 30);
    assert.equal((await w.nfs.remove(roRoot, 'ro')).status, 30);
    const ro = await w.nfs.lookup(roRoot, 'ro');
    assert.equal(ro.status, OK);
    assert.equal((await w.nfs.write(ro.fh!, 0, Buffer.from('x'))).status, 30);
    assert.equal((await w.nfs.setattr(ro.fh!, { mode: 0o600 })).status, 30);
    const acc = await w.nfs.access(ro.fh!, 0x3f);
    assert.equal(acc.status, OK);
    assert.equal((acc.granted ?? 0) & 0x1c, 0);
    assert.equal((acc.granted ?? 0) & 0x01, 0x01, 'READ still granted');
  });

  it('[error] a name longer than 255 bytes → NFS3ERR_NAMETOOLONG', async () => {
    assert.equal((await w.nfs.create(w.root, 'n'.repeat(256))).status, 63);
    assert.equal((await w.nfs.lookup(w.root, 'n'.repeat(300))).status, 63);
    assert.equal((await w.nfs.create(w.root, 'n'.repeat(255))).status, OK);
  });

  it('[error] REMOVE of a directory → NFS3ERR_ISDIR; RMDIR of a file → NFS3ERR_NOTDIR', async () => {
    await subdir(w.root, 'd');
    await file('f');
    assert.equal((await w.nfs.remove(w.root, 'd')).status, 21);
    assert.equal((await w.nfs.rmdir(w.root, 'f')).status, 20);
  });

  it('[error] RMDIR of a non-empty directory → NFS3ERR_NOTEMPTY', async () => {
    const d = await subdir(w.root, 'full');
    assert.equal((await w.nfs.create(d, 'x')).status, OK);
    assert.equal((await w.nfs.rmdir(w.root, 'full')).status, 66);
  });

  it('[error] RENAME of a directory into its own subtree → NFS3ERR_INVAL', async () => {
    const a = await subdir(w.root, 'a');
    const b = await subdir(a, 'b');
    const res = await w.nfs.rename(w.root, 'a', b, 'a2');
    assert.equal(res.status, 22);
    assert.ok(res.from.after && res.to.after, 'both wcc_data carry attributes');
  });

  it('[RENAME] moves a file between directories', async () => {
    const fh = await file('mv', Buffer.from('payload'));
    const d = await subdir(w.root, 'dst');
    const res = await w.nfs.rename(w.root, 'mv', d, 'moved');
    assert.equal(res.status, OK);
    assert.equal((await w.nfs.lookup(w.root, 'mv')).status, 2);
    const found = await w.nfs.lookup(d, 'moved');
    assert.deepEqual(found.fh, fh, 'the handle survives a rename');
  });

  it('[CREATE] GUARDED on an existing name → NFS3ERR_EXIST; EXCLUSIVE retransmission succeeds', async () => {
    await file('exists');
    const g = await w.nfs.create(w.root, 'exists', 'guarded');
    assert.equal(g.status, 17);
    assert.ok(g.dirWcc.after);
    const verifier = Buffer.from('abcdefgh');
    const first = await w.nfs.create(w.root, 'excl', { verifier });
    const again = await w.nfs.create(w.root, 'excl', { verifier });
    assert.deepEqual([first.status, again.status], [OK, OK]);
    assert.deepEqual(again.fh, first.fh);
    const other = await w.nfs.create(w.root, 'excl', { verifier: Buffer.from('zzzzzzzz') });
    assert.equal(other.status, 17);
  });

  it('[SYMLINK] and READLINK round trip; READLINK of a file → NFS3ERR_INVAL', async () => {
    const s = await w.nfs.symlink(w.root, 'ln', '../target/x');
    assert.equal(s.status, OK);
    assert.equal(s.attrs?.type, 5);
    assert.deepEqual(await w.nfs.readlink(s.fh!), { status: OK, target: '../target/x' });
    const f = await file('plain');
    assert.equal((await w.nfs.readlink(f)).status, 22);
  });

  it('[LINK] a second name for a file bumps nlink', async () => {
    const fh = await file('orig');
    const l = await w.nfs.link(fh, w.root, 'alias');
    assert.equal(l.status, OK);
    assert.equal(l.attrs?.nlink, 2);
    assert.deepEqual((await w.nfs.lookup(w.root, 'alias')).fh, fh);
  });

  it('[MKNOD] a FIFO is made; NF3REG → NFS3ERR_BADTYPE', async () => {
    const m = await w.nfs.mknod(w.root, 'pipe', 7);
    assert.equal(m.status, OK);
    assert.equal(m.attrs?.type, 7);
    assert.equal((await w.nfs.mknod(w.root, 'reg', 1)).status, 10007);
  });

  it('[ACCESS] another user gets only what the mode grants', async () => {
    const fh = await file('private');
    assert.equal((await w.nfs.setattr(fh, { mode: 0o600 })).status, OK);
    w.nfs.cred = { uid: 1234, gid: 1234, gids: [] };
    const acc = await w.nfs.access(fh, 0x3f);
    assert.equal(acc.status, OK);
    assert.equal(acc.granted, 0);
    assert.equal((await w.nfs.read(fh, 0, 1)).status, 13);
  });

  it('[FSSTAT, FSINFO, PATHCONF] answer OK on the root', async () => {
    for (const proc of [P.FSSTAT, P.FSINFO, P.PATHCONF]) {
      assert.equal((await w.nfs.status(proc, w.root)).status, OK, `proc ${proc}`);
    }
  });
});
