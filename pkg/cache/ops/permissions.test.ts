import assert from 'node:assert/strict';
import { Access, type Credentials } from '../../vfs';
import { ALICE, BOB, CAROL, expectCode, file, freshFs, makeDir, makeFile, ROOT, type TestFs } from '../test-helpers';

// ALICE owns the objects (uid 1000, group 1000); CAROL is in group 1000; BOB is other.
const who: Array<[string, Credentials, 'owner' | 'group' | 'other' | 'root']> = [
  ['owner', ALICE, 'owner'],
  ['group', CAROL, 'group'],
  ['other', BOB, 'other'],
  ['root', ROOT, 'root'],
];
const ALL = Access.READ | Access.LOOKUP | Access.MODIFY | Access.EXTEND | Access.DELETE | Access.EXECUTE;

describe('cache file system: permissions', () => {
  let t: TestFs;
  beforeEach(async () => {
    t = await freshFs();
    await t.fs.setattr(ROOT, 1, { mode: 0o777 });
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('ACCESS on files follows owner/group/other bits; root bypasses r/w and x if any x bit', async () => {
    const cases: Array<[number, Record<string, number>]> = [
      [0o640, { owner: Access.READ | Access.MODIFY | Access.EXTEND, group: Access.READ, other: 0, root: Access.READ | Access.MODIFY | Access.EXTEND }],
      [0o704, { owner: ALL & ~Access.LOOKUP & ~Access.DELETE, group: 0, other: Access.READ, root: ALL & ~Access.LOOKUP & ~Access.DELETE }],
      [0o070, { owner: 0, group: Access.READ | Access.MODIFY | Access.EXTEND | Access.EXECUTE, other: 0, root: ALL & ~Access.LOOKUP & ~Access.DELETE }],
      [0o001, { owner: 0, group: 0, other: Access.EXECUTE, root: ALL & ~Access.LOOKUP & ~Access.DELETE }],
    ];
    for (const [mode, expected] of cases) {
      const ino = await makeFile(t.fs, 1, `f${mode.toString(8)}`, { mode, owner: ALICE });
      for (const [, cred, role] of who) {
        const { granted } = await t.fs.access(cred, ino, ALL);
        assert.equal(granted, expected[role], `mode ${mode.toString(8)} ${role}: got ${granted}`);
      }
    }
  });

  it('ACCESS on directories: LOOKUP from x, MODIFY/EXTEND/DELETE need w and x', async () => {
    const d = await makeDir(t.fs, 1, 'd', { mode: 0o750, owner: ALICE });
    const dirAll = Access.READ | Access.LOOKUP | Access.MODIFY | Access.EXTEND | Access.DELETE;
    assert.equal((await t.fs.access(ALICE, d, ALL)).granted, dirAll);
    assert.equal((await t.fs.access(CAROL, d, ALL)).granted, Access.READ | Access.LOOKUP);
    assert.equal((await t.fs.access(BOB, d, ALL)).granted, 0);
    assert.equal((await t.fs.access(ROOT, d, ALL)).granted, dirAll);
    assert.equal((await t.fs.access(ALICE, d, Access.READ)).granted, Access.READ, 'only asked bits are answered');
  });

  it('read/write of data: mode bits, owner override (knfsd), root', async () => {
    const ino = await makeFile(t.fs, 1, 'f', { mode: 0o640, owner: ALICE, content: Buffer.from('secret') });
    assert.equal((await t.fs.read(CAROL, ino, 0, 10)).data.toString(), 'secret');
    await expectCode(t.fs.read(BOB, ino, 0, 10), 'EACCES');
    await expectCode(t.fs.write(CAROL, ino, 0, Buffer.from('x'), 'unstable'), 'EACCES');
    await expectCode(t.fs.write(BOB, ino, 0, Buffer.from('x'), 'unstable'), 'EACCES');
    await t.fs.write(ROOT, ino, 0, Buffer.from('S'), 'unstable');
    // The owner writes through a mode 0444 file it created (cp of a read-only file).
    await t.fs.setattr(ALICE, ino, { mode: 0o444 });
    await t.fs.write(ALICE, ino, 0, Buffer.from('s'), 'unstable');
    await t.fs.setattr(ALICE, ino, { mode: 0o000 });
    assert.equal((await t.fs.read(ALICE, ino, 0, 10)).data.toString(), 'secret');
    await expectCode(t.fs.read(CAROL, ino, 0, 10), 'EACCES');
    await t.fs.read(ROOT, ino, 0, 10);
    // Execute-only lets a client read (to run the program).
    await t.fs.setattr(ALICE, ino, { mode: 0o711 });
    await t.fs.read(BOB, ino, 0, 10);
  });

  it('lookup needs search permission on the directory', async () => {
    const d = await makeDir(t.fs, 1, 'd', { mode: 0o700, owner: ALICE });
    await makeFile(t.fs, d, 'f');
    await t.fs.lookup(ALICE, d, 'f');
    await t.fs.lookup(ROOT, d, 'f');
    await expectCode(t.fs.lookup(BOB, d, 'f'), 'EACCES');
    await expectCode(t.fs.lookup(CAROL, d, '..'), 'EACCES');
    await t.fs.setattr(ROOT, d, { mode: 0o711 });
    await t.fs.lookup(BOB, d, 'f');
    await expectCode(t.fs.readdir(BOB, d, { cookie: 0n, verifier: Buffer.alloc(8), maxEntries: 10, withAttributes: false }), 'EACCES');
    await t.fs.setattr(ROOT, d, { mode: 0o744 });
    await t.fs.readdir(BOB, d, { cookie: 0n, verifier: Buffer.alloc(8), maxEntries: 10, withAttributes: false });
    await expectCode(t.fs.lookup(BOB, d, 'f'), 'EACCES');
  });

  it('create and remove need write and search on the parent', async () => {
    const d = await makeDir(t.fs, 1, 'd', { mode: 0o755, owner: ALICE });
    await t.fs.create(ALICE, d, 'a', file());
    await expectCode(t.fs.create(BOB, d, 'b', file()), 'EACCES');
    await expectCode(t.fs.mkdir(CAROL, d, 'c', { mode: 0o755 }), 'EACCES');
    await expectCode(t.fs.symlink(BOB, d, 's', 't', {}), 'EACCES');
    await expectCode(t.fs.remove(BOB, d, 'a'), 'EACCES');
    await t.fs.create(ROOT, d, 'r', file());
    await t.fs.setattr(ROOT, d, { mode: 0o774 });
    await t.fs.create(CAROL, d, 'c', file());
    await expectCode(t.fs.create(BOB, d, 'b', file()), 'EACCES');
    await t.fs.setattr(ROOT, d, { mode: 0o776 });
    await expectCode(t.fs.create(BOB, d, 'b', file()), 'EACCES');
    await t.fs.setattr(ROOT, d, { mode: 0o777 });
    await t.fs.remove(BOB, d, 'a');
  });

  it('sticky directories: only the owner of the entry or directory, or root, may delete', async () => {
    const tmp = await makeDir(t.fs, 1, 'tmp', { mode: 0o1777, owner: CAROL });
    await makeFile(t.fs, tmp, 'alice', { owner: ALICE });
    await makeFile(t.fs, tmp, 'alice2', { owner: ALICE });
    await makeFile(t.fs, tmp, 'alice3', { owner: ALICE });
    await t.fs.mkdir(ROOT, tmp, 'adir', { mode: 0o777 });
    await t.fs.setattr(ROOT, (await t.fs.lookup(ROOT, tmp, 'adir')).ino, { uid: ALICE.uid });
    await expectCode(t.fs.remove(BOB, tmp, 'alice'), 'EPERM');
    await expectCode(t.fs.rmdir(BOB, tmp, 'adir'), 'EPERM');
    await t.fs.remove(ALICE, tmp, 'alice');
    await t.fs.remove(CAROL, tmp, 'alice2');
    await t.fs.remove(ROOT, tmp, 'alice3');
    await t.fs.rmdir(ALICE, tmp, 'adir');
  });

  it('chmod: owner or root only (EPERM); setgid dropped for non-members', async () => {
    const ino = await makeFile(t.fs, 1, 'f', { owner: ALICE });
    await expectCode(t.fs.setattr(BOB, ino, { mode: 0o777 }), 'EPERM');
    await expectCode(t.fs.setattr(CAROL, ino, { mode: 0o777 }), 'EPERM');
    await t.fs.setattr(ALICE, ino, { mode: 0o2755 });
    assert.equal((await t.fs.getattr(ino)).mode, 0o2755);
    await t.fs.setattr(ROOT, ino, { gid: 3000 });
    await t.fs.setattr(ALICE, ino, { mode: 0o2755 });
    assert.equal((await t.fs.getattr(ino)).mode, 0o0755, 'alice is not in group 3000');
    await t.fs.setattr(ROOT, ino, { mode: 0o2755 });
    assert.equal((await t.fs.getattr(ino)).mode, 0o2755);
  });

  it('chown: root only; the owner may chgrp to a group it belongs to; set-id bits revoked', async () => {
    const ino = await makeFile(t.fs, 1, 'f', { owner: BOB });
    await expectCode(t.fs.setattr(BOB, ino, { uid: ALICE.uid }), 'EPERM');
    await expectCode(t.fs.setattr(ALICE, ino, { uid: ALICE.uid }), 'EPERM');
    await t.fs.setattr(BOB, ino, { uid: BOB.uid });
    await t.fs.setattr(BOB, ino, { gid: 3000 });
    await expectCode(t.fs.setattr(BOB, ino, { gid: 1000 }), 'EPERM');
    await expectCode(t.fs.setattr(ALICE, ino, { gid: 1000 }), 'EPERM');
    await t.fs.setattr(ROOT, ino, { mode: 0o6755 });
    await t.fs.setattr(ROOT, ino, { uid: ALICE.uid, gid: 1000 });
    const a = await t.fs.getattr(ino);
    assert.deepEqual([a.uid, a.gid, a.mode], [ALICE.uid, 1000, 0o0755]);
    // Set-id bits on directories survive a chown.
    const d = await makeDir(t.fs, 1, 'd', { mode: 0o2755 });
    await t.fs.setattr(ROOT, d, { uid: BOB.uid });
    assert.equal((await t.fs.getattr(d)).mode, 0o2755);
  });

  it('truncate needs write access (owner override applies)', async () => {
    const ino = await makeFile(t.fs, 1, 'f', { mode: 0o644, owner: ALICE, content: Buffer.from('abc') });
    await expectCode(t.fs.setattr(BOB, ino, { size: 0 }), 'EACCES');
    await expectCode(t.fs.setattr(CAROL, ino, { size: 0 }), 'EACCES');
    await t.fs.setattr(ROOT, ino, { mode: 0o664 });
    await t.fs.setattr(CAROL, ino, { size: 1 });
    await t.fs.setattr(ROOT, ino, { mode: 0o444 });
    await t.fs.setattr(ALICE, ino, { size: 0 });
    assert.equal((await t.fs.getattr(ino)).size, 0);
  });

  it("times: 'now' needs owner or write permission (EACCES), explicit times owner or root (EPERM)", async () => {
    const ino = await makeFile(t.fs, 1, 'f', { mode: 0o664, owner: ALICE });
    const when = { sec: 1_000_000_000, nsec: 123456789 };
    await t.fs.setattr(CAROL, ino, { mtime: 'now', atime: 'now' });
    await expectCode(t.fs.setattr(BOB, ino, { mtime: 'now' }), 'EACCES');
    await expectCode(t.fs.setattr(CAROL, ino, { mtime: when }), 'EPERM');
    await t.fs.setattr(ALICE, ino, { mtime: when, atime: when });
    const a = await t.fs.getattr(ino);
    assert.deepEqual(a.mtime, when);
    assert.deepEqual(a.atime, when);
    await t.fs.setattr(ROOT, ino, { mtime: { sec: 5, nsec: 6 } });
    assert.deepEqual((await t.fs.getattr(ino)).mtime, { sec: 5, nsec: 6 });
    await t.fs.setattr(ROOT, ino, { mode: 0o600 });
    await t.fs.setattr(ALICE, ino, { mtime: 'now' });
  });
});
