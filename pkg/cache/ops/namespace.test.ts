import assert from 'node:assert/strict';
import { ALICE, expectCode, file, freshFs, makeDir, makeFile, names, ROOT, type TestFs } from '../test-helpers';

describe('cache file system: names', () => {
  let t: TestFs;
  beforeEach(async () => {
    t = await freshFs();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('creates a root 0755 owned by 0:0, or by defaultOwner', async () => {
    const a = await t.fs.getattr(t.fs.rootIno);
    assert.deepEqual([a.type, a.mode, a.uid, a.gid, a.nlink], ['dir', 0o755, 0, 0, 2]);
    await t.cleanup();
    t = await freshFs({ defaultOwner: { uid: 1000, gid: 100, mode: 0o775 } });
    const b = await t.fs.getattr(t.fs.rootIno);
    assert.deepEqual([b.mode, b.uid, b.gid], [0o775, 1000, 100]);
  });

  it('looks up ., .. and names', async () => {
    const d = await makeDir(t.fs, 1, 'd');
    const f = await makeFile(t.fs, d, 'f');
    assert.equal((await t.fs.lookup(ROOT, d, '.')).ino, d);
    assert.equal((await t.fs.lookup(ROOT, d, '..')).ino, 1);
    assert.equal((await t.fs.lookup(ROOT, 1, '..')).ino, 1, "the root's parent is itself");
    const l = await t.fs.lookup(ROOT, d, 'f');
    assert.equal(l.ino, f);
    assert.equal(l.dirAttributes.ino, d);
    await expectCode(t.fs.lookup(ROOT, d, 'missing'), 'ENOENT');
    await expectCode(t.fs.lookup(ROOT, f, 'x'), 'ENOTDIR');
  });

  it('[error] bad names: empty, slash, NUL are EINVAL; over 255 bytes ENAMETOOLONG; . and .. EEXIST', async () => {
    for (const bad of ['', 'a/b', 'a\0b']) {
      await expectCode(t.fs.create(ROOT, 1, bad, file()), 'EINVAL');
      await expectCode(t.fs.lookup(ROOT, 1, bad), 'EINVAL');
    }
    await expectCode(t.fs.create(ROOT, 1, 'x'.repeat(256), file()), 'ENAMETOOLONG');
    await expectCode(t.fs.mkdir(ROOT, 1, 'é'.repeat(128), {}), 'ENAMETOOLONG');
    await makeFile(t.fs, 1, 'x'.repeat(255));
    for (const dot of ['.', '..']) {
      await expectCode(t.fs.create(ROOT, 1, dot, file()), 'EEXIST');
      await expectCode(t.fs.mkdir(ROOT, 1, dot, {}), 'EEXIST');
      await expectCode(t.fs.symlink(ROOT, 1, dot, 't', {}), 'EEXIST');
    }
  });

  it('create: unchecked reuses a file (and truncates if asked), guarded is EEXIST', async () => {
    const ino = await makeFile(t.fs, 1, 'f', { content: Buffer.from('hello') });
    const again = await t.fs.create(ROOT, 1, 'f', file());
    assert.equal(again.ino, ino);
    assert.equal(again.attributes.size, 5);
    const trunc = await t.fs.create(ROOT, 1, 'f', { kind: 'unchecked', attributes: { size: 0 } });
    assert.equal(trunc.ino, ino);
    assert.equal(trunc.attributes.size, 0);
    await expectCode(t.fs.create(ROOT, 1, 'f', { kind: 'guarded', attributes: {} }), 'EEXIST');
    await makeDir(t.fs, 1, 'd');
    await expectCode(t.fs.create(ROOT, 1, 'd', file()), 'EEXIST');
  });

  it('create: exclusive retransmission with the same verifier returns the same inode', async () => {
    const v1 = Buffer.from('0123456789abcdef', 'hex');
    const v2 = Buffer.from('fedcba9876543210', 'hex');
    const a = await t.fs.create(ALICE, 1, 'ex', { kind: 'exclusive', verifier: v1 }).catch(() => undefined);
    assert.equal(a, undefined, 'alice may not write the root');
    const first = await t.fs.create(ROOT, 1, 'ex', { kind: 'exclusive', verifier: v1 });
    const again = await t.fs.create(ROOT, 1, 'ex', { kind: 'exclusive', verifier: v1 });
    assert.equal(again.ino, first.ino);
    assert.equal(again.attributes.generation, first.attributes.generation);
    await expectCode(t.fs.create(ROOT, 1, 'ex', { kind: 'exclusive', verifier: v2 }), 'EEXIST');
    await makeFile(t.fs, 1, 'plain');
    await expectCode(t.fs.create(ROOT, 1, 'plain', { kind: 'exclusive', verifier: v1 }), 'EEXIST');
    // The verifier survives a restart (a retransmission may arrive after one).
    await t.reopen();
    assert.equal((await t.fs.create(ROOT, 1, 'ex', { kind: 'exclusive', verifier: v1 })).ino, first.ino);
  });

  it('creates with the caller as owner, the mode given, and times of now', async () => {
    await t.fs.setattr(ROOT, 1, { mode: 0o777 });
    const c = await t.fs.create(ALICE, 1, 'mine', file(0o640));
    assert.deepEqual([c.attributes.uid, c.attributes.gid, c.attributes.mode, c.attributes.nlink, c.attributes.size], [1000, 1000, 0o640, 1, 0]);
    assert.ok(c.dir.before && c.dir.after);
    assert.deepEqual(c.dir.after.mtime, c.attributes.mtime, 'the directory changed when the file was made');
    assert.ok(c.attributes.generation > 0);
    const d = await t.fs.mkdir(ALICE, 1, 'dir', { mode: 0o750 });
    assert.deepEqual([d.attributes.type, d.attributes.mode, d.attributes.nlink], ['dir', 0o750, 2]);
    await expectCode(t.fs.create(ALICE, 1, 'theirs', { kind: 'unchecked', attributes: { mode: 0o644, uid: 0 } }), 'EPERM');
  });

  it('setgid directories pass on their group, and setgid to subdirectories', async () => {
    const d = await makeDir(t.fs, 1, 'shared', { mode: 0o2777 });
    await t.fs.setattr(ROOT, d, { gid: 3000 });
    await t.fs.setattr(ROOT, d, { mode: 0o2777 });
    const f = await t.fs.create(ALICE, d, 'f', file(0o644));
    assert.equal(f.attributes.gid, 3000);
    const sub = await t.fs.mkdir(ALICE, d, 'sub', { mode: 0o755 });
    assert.equal(sub.attributes.gid, 3000);
    assert.equal(sub.attributes.mode, 0o2755);
  });

  it('makes symlinks and reads them back', async () => {
    const s = await t.fs.symlink(ROOT, 1, 'l', '../some/where', { mode: 0o600 });
    assert.equal(s.attributes.type, 'symlink');
    assert.equal(s.attributes.mode, 0o777);
    assert.equal(s.attributes.size, Buffer.byteLength('../some/where'));
    assert.equal((await t.fs.readlink(ROOT, s.ino)).target, '../some/where');
    await t.fs.symlink(ROOT, 1, 'long', 'x'.repeat(4096), {});
    await expectCode(t.fs.symlink(ROOT, 1, 'toolong', 'x'.repeat(4097), {}), 'ENAMETOOLONG');
    await expectCode(t.fs.symlink(ROOT, 1, 'empty', '', {}), 'EINVAL');
    const f = await makeFile(t.fs, 1, 'f');
    await expectCode(t.fs.readlink(ROOT, f), 'EINVAL');
  });

  it('makes device nodes, fifos and sockets', async () => {
    const b = await t.fs.mknod(ROOT, 1, 'blk', 'block', { mode: 0o660 }, { major: 8, minor: 1 });
    assert.deepEqual([b.attributes.type, b.attributes.rdevMajor, b.attributes.rdevMinor, b.attributes.mode], ['block', 8, 1, 0o660]);
    const c = await t.fs.mknod(ROOT, 1, 'chr', 'char', { mode: 0o666 }, { major: 1, minor: 3 });
    assert.deepEqual([c.attributes.type, c.attributes.rdevMajor, c.attributes.rdevMinor], ['char', 1, 3]);
    const fifo = await t.fs.mknod(ROOT, 1, 'fifo', 'fifo', { mode: 0o644 }, { major: 9, minor: 9 });
    assert.deepEqual([fifo.attributes.type, fifo.attributes.rdevMajor], ['fifo', 0]);
    const sock = await t.fs.mknod(ROOT, 1, 'sock', 'socket', { mode: 0o755 }, { major: 0, minor: 0 });
    assert.equal(sock.attributes.type, 'socket');
    await t.fs.setattr(ROOT, 1, { mode: 0o777 });
    await expectCode(t.fs.mknod(ALICE, 1, 'blk2', 'block', { mode: 0o660 }, { major: 8, minor: 1 }), 'EPERM');
    await t.fs.mknod(ALICE, 1, 'fifo2', 'fifo', { mode: 0o600 }, { major: 0, minor: 0 });
    await expectCode(t.fs.mknod(ROOT, 1, 'fifo', 'fifo', {}, { major: 0, minor: 0 }), 'EEXIST');
  });

  it('remove: unlinks files; EISDIR on directories; ENOENT on missing names', async () => {
    const f = await makeFile(t.fs, 1, 'f', { content: Buffer.from('x') });
    await makeDir(t.fs, 1, 'd');
    const w = await t.fs.remove(ROOT, 1, 'f');
    assert.ok(w.after && w.before);
    await expectCode(t.fs.lookup(ROOT, 1, 'f'), 'ENOENT');
    await expectCode(t.fs.getattr(f), 'ESTALE');
    await expectCode(t.fs.remove(ROOT, 1, 'f'), 'ENOENT');
    await expectCode(t.fs.remove(ROOT, 1, 'd'), 'EISDIR');
    await expectCode(t.fs.remove(ROOT, 1, '.'), 'EISDIR');
    await expectCode(t.fs.remove(ROOT, f, 'x'), 'ESTALE');
  });

  it('rmdir: ENOTEMPTY, ENOTDIR, EINVAL for ., ENOTEMPTY for ..', async () => {
    const d = await makeDir(t.fs, 1, 'd');
    await makeFile(t.fs, d, 'inside');
    await makeFile(t.fs, 1, 'f');
    await expectCode(t.fs.rmdir(ROOT, 1, 'd'), 'ENOTEMPTY');
    await expectCode(t.fs.rmdir(ROOT, 1, 'f'), 'ENOTDIR');
    await expectCode(t.fs.rmdir(ROOT, d, '.'), 'EINVAL');
    await expectCode(t.fs.rmdir(ROOT, d, '..'), 'ENOTEMPTY');
    await expectCode(t.fs.rmdir(ROOT, 1, 'nope'), 'ENOENT');
    await t.fs.remove(ROOT, d, 'inside');
    await t.fs.rmdir(ROOT, 1, 'd');
    await expectCode(t.fs.getattr(d), 'ESTALE');
    assert.equal((await t.fs.getattr(1)).nlink, 2);
  });

  it('counts links: files by names, directories 2 + subdirectories', async () => {
    const f = await makeFile(t.fs, 1, 'f', { content: Buffer.from('data') });
    const d = await makeDir(t.fs, 1, 'd');
    assert.equal((await t.fs.getattr(1)).nlink, 3);
    await makeDir(t.fs, d, 's1');
    await makeDir(t.fs, d, 's2');
    await makeFile(t.fs, d, 'plain');
    assert.equal((await t.fs.getattr(d)).nlink, 4);
    const l = await t.fs.link(ROOT, f, d, 'f2');
    assert.equal(l.attributes.nlink, 2);
    await t.fs.link(ROOT, f, 1, 'f3');
    assert.equal((await t.fs.getattr(f)).nlink, 3);
    await t.fs.remove(ROOT, 1, 'f');
    await t.fs.remove(ROOT, d, 'f2');
    assert.equal((await t.fs.getattr(f)).nlink, 1);
    assert.equal((await t.fs.read(ROOT, f, 0, 10)).data.toString(), 'data');
    await t.fs.remove(ROOT, 1, 'f3');
    await expectCode(t.fs.getattr(f), 'ESTALE');
    await t.fs.rmdir(ROOT, d, 's1');
    assert.equal((await t.fs.getattr(d)).nlink, 3);
  });

  it('[error] link: EPERM for directories, EEXIST for taken names, ENOTDIR for non-directory targets', async () => {
    const d = await makeDir(t.fs, 1, 'd');
    const f = await makeFile(t.fs, 1, 'f');
    await expectCode(t.fs.link(ROOT, d, 1, 'dlink'), 'EPERM');
    await expectCode(t.fs.link(ROOT, f, 1, 'd'), 'EEXIST');
    await expectCode(t.fs.link(ROOT, f, f, 'x'), 'ENOTDIR');
    await expectCode(t.fs.link(ROOT, f, 1, '..'), 'EEXIST');
  });

  it('[error] EMLINK when a file reaches the link limit', async function () {
    this.timeout(120_000);
    const f = await makeFile(t.fs, 1, 'f');
    const d = await makeDir(t.fs, 1, 'links');
    const max = t.fs.fsinfo().maxLinks;
    const batch = 500;
    for (let i = 1; i < max; i += batch) {
      await Promise.all(Array.from({ length: Math.min(batch, max - i) }, (_, k) => t.fs.link(ROOT, f, d, `l${i + k}`)));
    }
    assert.equal((await t.fs.getattr(f)).nlink, max);
    await expectCode(t.fs.link(ROOT, f, d, 'one-too-many'), 'EMLINK');
  });

  it('updates directory mtime/ctime on entry changes and lists entries', async () => {
    const before = await t.fs.getattr(1);
    await makeFile(t.fs, 1, 'a');
    const after = await t.fs.getattr(1);
    assert.notDeepEqual(after.mtime, before.mtime);
    assert.deepEqual(after.ctime, after.mtime);
    assert.deepEqual(await names(t.fs, 1), ['.', '..', 'a']);
  });
});
