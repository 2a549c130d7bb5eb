import assert from 'node:assert/strict';
import { ALICE, BOB, expectCode, freshFs, makeDir, makeFile, names, ROOT, type TestFs } from '../test-helpers';

describe('cache file system: rename', () => {
  let t: TestFs;
  beforeEach(async () => {
    t = await freshFs();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('renames within a directory and keeps the inode', async () => {
    const f = await makeFile(t.fs, 1, 'a', { content: Buffer.from('x') });
    const r = await t.fs.rename(ROOT, 1, 'a', 1, 'b');
    assert.ok(r.from.after && r.to.after);
    assert.equal((await t.fs.lookup(ROOT, 1, 'b')).ino, f);
    await expectCode(t.fs.lookup(ROOT, 1, 'a'), 'ENOENT');
    assert.deepEqual(await names(t.fs, 1), ['.', '..', 'b']);
  });

  it('replaces a file atomically and frees the replaced inode', async () => {
    const a = await makeFile(t.fs, 1, 'a', { content: Buffer.from('new') });
    const b = await makeFile(t.fs, 1, 'b', { content: Buffer.from('old') });
    await t.fs.rename(ROOT, 1, 'a', 1, 'b');
    assert.equal((await t.fs.lookup(ROOT, 1, 'b')).ino, a);
    await expectCode(t.fs.getattr(b), 'ESTALE');
    assert.equal((await t.fs.read(ROOT, a, 0, 10)).data.toString(), 'new');
  });

  it('replacing a hard-linked file only drops one link', async () => {
    const a = await makeFile(t.fs, 1, 'a');
    const b = await makeFile(t.fs, 1, 'b');
    await t.fs.link(ROOT, b, 1, 'b2');
    await t.fs.rename(ROOT, 1, 'a', 1, 'b');
    assert.equal((await t.fs.getattr(b)).nlink, 1);
    assert.equal((await t.fs.lookup(ROOT, 1, 'b')).ino, a);
  });

  it('is a no-op for two names of the same inode', async () => {
    const a = await makeFile(t.fs, 1, 'a');
    await t.fs.link(ROOT, a, 1, 'a2');
    await t.fs.rename(ROOT, 1, 'a', 1, 'a2');
    assert.deepEqual(await names(t.fs, 1), ['.', '..', 'a', 'a2']);
    assert.equal((await t.fs.getattr(a)).nlink, 2);
    await t.fs.rename(ROOT, 1, 'a', 1, 'a');
    assert.equal((await t.fs.lookup(ROOT, 1, 'a')).ino, a);
  });

  it("moves a directory: '..' follows, link counts move", async () => {
    const p1 = await makeDir(t.fs, 1, 'p1');
    const p2 = await makeDir(t.fs, 1, 'p2');
    const d = await makeDir(t.fs, p1, 'd');
    assert.equal((await t.fs.getattr(p1)).nlink, 3);
    await t.fs.rename(ROOT, p1, 'd', p2, 'moved');
    assert.equal((await t.fs.lookup(ROOT, d, '..')).ino, p2);
    assert.equal((await t.fs.getattr(p1)).nlink, 2);
    assert.equal((await t.fs.getattr(p2)).nlink, 3);
    assert.equal((await t.fs.getattr(1)).nlink, 4);
    const rd = await t.fs.readdir(ROOT, d, { cookie: 0n, verifier: Buffer.alloc(8), maxEntries: 10, withAttributes: false });
    assert.equal(rd.entries.find((e) => e.name === '..')?.ino, p2);
  });

  it('replaces an empty directory; ENOTEMPTY for a non-empty one', async () => {
    const a = await makeDir(t.fs, 1, 'a');
    const b = await makeDir(t.fs, 1, 'b');
    const c = await makeDir(t.fs, 1, 'c');
    await makeFile(t.fs, c, 'x');
    await expectCode(t.fs.rename(ROOT, 1, 'a', 1, 'c'), 'ENOTEMPTY');
    await t.fs.rename(ROOT, 1, 'a', 1, 'b');
    await expectCode(t.fs.getattr(b), 'ESTALE');
    assert.equal((await t.fs.lookup(ROOT, 1, 'b')).ino, a);
    assert.equal((await t.fs.getattr(1)).nlink, 4);
    // Across directories, replacing an empty directory keeps both parents' counts right.
    const e = await makeDir(t.fs, c, 'e');
    await t.fs.rename(ROOT, 1, 'b', c, 'e');
    await expectCode(t.fs.getattr(e), 'ESTALE');
    assert.equal((await t.fs.getattr(c)).nlink, 3);
    assert.equal((await t.fs.getattr(1)).nlink, 3);
  });

  it('[error] type mismatches: dir over file ENOTDIR, file over dir EISDIR', async () => {
    await makeDir(t.fs, 1, 'd');
    await makeFile(t.fs, 1, 'f');
    await expectCode(t.fs.rename(ROOT, 1, 'd', 1, 'f'), 'ENOTDIR');
    await expectCode(t.fs.rename(ROOT, 1, 'f', 1, 'd'), 'EISDIR');
  });

  it('[error] a directory moved into its own subtree is EINVAL', async () => {
    const a = await makeDir(t.fs, 1, 'a');
    const b = await makeDir(t.fs, a, 'b');
    const c = await makeDir(t.fs, b, 'c');
    await expectCode(t.fs.rename(ROOT, 1, 'a', c, 'a'), 'EINVAL');
    await expectCode(t.fs.rename(ROOT, 1, 'a', a, 'self'), 'EINVAL');
    await expectCode(t.fs.rename(ROOT, a, 'b', b, 'x'), 'EINVAL');
    // Moving up is fine.
    await t.fs.rename(ROOT, b, 'c', 1, 'c');
    assert.equal((await t.fs.lookup(ROOT, c, '..')).ino, 1);
  });

  it("[error] missing source ENOENT, '.' or '..' EINVAL, non-directory parents ENOTDIR", async () => {
    const f = await makeFile(t.fs, 1, 'f');
    await expectCode(t.fs.rename(ROOT, 1, 'missing', 1, 'x'), 'ENOENT');
    await expectCode(t.fs.rename(ROOT, 1, '.', 1, 'x'), 'EINVAL');
    await expectCode(t.fs.rename(ROOT, 1, 'f', 1, '..'), 'EINVAL');
    await expectCode(t.fs.rename(ROOT, f, 'a', 1, 'x'), 'ENOTDIR');
    await expectCode(t.fs.rename(ROOT, 1, 'f', f, 'x'), 'ENOTDIR');
    await expectCode(t.fs.rename(ROOT, 1, 'f', 1, 'a/b'), 'EINVAL');
  });

  it('[error] permissions: write on both parents, sticky source and target, write on a moved directory', async () => {
    const src = await makeDir(t.fs, 1, 'src', { mode: 0o777 });
    const ro = await makeDir(t.fs, 1, 'ro', { mode: 0o755 });
    await makeFile(t.fs, src, 'f', { owner: ALICE });
    await expectCode(t.fs.rename(ALICE, src, 'f', ro, 'f'), 'EACCES');
    const sticky = await makeDir(t.fs, 1, 'tmp', { mode: 0o1777 });
    await makeFile(t.fs, sticky, 'bobs', { owner: BOB });
    await makeFile(t.fs, sticky, 'alices', { owner: ALICE });
    await expectCode(t.fs.rename(ALICE, sticky, 'bobs', sticky, 'stolen'), 'EPERM');
    await expectCode(t.fs.rename(ALICE, sticky, 'alices', sticky, 'bobs'), 'EPERM');
    await t.fs.rename(ALICE, sticky, 'alices', sticky, 'mine');
    await t.fs.rename(ROOT, sticky, 'bobs', sticky, 'root-may');
    // A directory owned by root with mode 0755 cannot be moved to another parent by Alice.
    const rootsDir = await makeDir(t.fs, src, 'rootsdir', { mode: 0o755 });
    const dst = await makeDir(t.fs, 1, 'dst', { mode: 0o777 });
    await expectCode(t.fs.rename(ALICE, src, 'rootsdir', dst, 'x'), 'EACCES');
    await t.fs.rename(ALICE, src, 'rootsdir', src, 'renamed-in-place');
    assert.equal((await t.fs.lookup(ROOT, src, 'renamed-in-place')).ino, rootsDir);
  });

  it('updates ctime of the moved inode and mtime/ctime of both directories', async () => {
    const a = await makeDir(t.fs, 1, 'a');
    const b = await makeDir(t.fs, 1, 'b');
    const f = await makeFile(t.fs, a, 'f');
    const before = await t.fs.getattr(f);
    const r = await t.fs.rename(ROOT, a, 'f', b, 'g');
    const after = await t.fs.getattr(f);
    assert.notDeepEqual(after.ctime, before.ctime);
    assert.deepEqual(after.mtime, before.mtime);
    assert.deepEqual(r.from.after?.mtime, after.ctime);
    assert.deepEqual(r.to.after?.mtime, after.ctime);
    assert.equal((await t.fs.getattr(b)).ino, b);
  });
});
