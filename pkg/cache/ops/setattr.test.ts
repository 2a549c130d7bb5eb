import assert from 'node:assert/strict';
import { ALICE, expectCode, freshFs, makeDir, makeFile, ManualClock, ROOT, type TestFs } from '../test-helpers';

describe('cache file system: setattr, times and versions', () => {
  let t: TestFs;
  let clock: ManualClock;
  beforeEach(async () => {
    clock = new ManualClock();
    t = await freshFs({ clock: clock.now });
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('[error] ENOTSYNC when the ctime guard does not match; applies when it does', async () => {
    const ino = await makeFile(t.fs, 1, 'f');
    const a = await t.fs.getattr(ino);
    clock.tick(5);
    await expectCode(t.fs.setattr(ROOT, ino, { mode: 0o600 }, { sec: a.ctime.sec, nsec: a.ctime.nsec + 1 }), 'ENOTSYNC');
    assert.equal((await t.fs.getattr(ino)).mode, 0o644);
    const w = await t.fs.setattr(ROOT, ino, { mode: 0o600 }, a.ctime);
    assert.deepEqual(w.before, { size: a.size, mtime: a.mtime, ctime: a.ctime });
    assert.equal(w.after?.mode, 0o600);
    assert.deepEqual(w.after?.ctime, clock.now(), 'ctime has nanosecond resolution from the clock');
  });

  it('[error] size on a directory is EISDIR, on a symlink EINVAL; bad values EINVAL', async () => {
    const d = await makeDir(t.fs, 1, 'd');
    const s = await t.fs.symlink(ROOT, 1, 's', 'x', {});
    const f = await makeFile(t.fs, 1, 'f');
    await expectCode(t.fs.setattr(ROOT, d, { size: 0 }), 'EISDIR');
    await expectCode(t.fs.setattr(ROOT, s.ino, { size: 0 }), 'EINVAL');
    await expectCode(t.fs.setattr(ROOT, f, { size: -1 }), 'EINVAL');
    await expectCode(t.fs.setattr(ROOT, f, { size: 1.5 }), 'EINVAL');
    await expectCode(t.fs.setattr(ROOT, f, { mtime: { sec: 1, nsec: 2e9 } }), 'EINVAL');
    await expectCode(t.fs.setattr(ROOT, 424242, { mode: 0o600 }), 'ESTALE');
  });

  it('changes ctime on every metadata change and mtime on size changes', async () => {
    const ino = await makeFile(t.fs, 1, 'f', { content: Buffer.from('12345') });
    const a0 = await t.fs.getattr(ino);
    clock.tick(1000);
    await t.fs.setattr(ROOT, ino, { mode: 0o600 });
    const a1 = await t.fs.getattr(ino);
    assert.deepEqual(a1.ctime, clock.now());
    assert.deepEqual(a1.mtime, a0.mtime);
    clock.tick(1000);
    await t.fs.setattr(ROOT, ino, { size: 2 });
    const a2 = await t.fs.getattr(ino);
    assert.deepEqual([a2.mtime, a2.ctime], [clock.now(), clock.now()]);
    clock.tick(1000);
    await t.fs.link(ROOT, ino, 1, 'g');
    assert.deepEqual((await t.fs.getattr(ino)).ctime, clock.now());
  });

  it('updates atime by relatime rules: after a change, or when a day old', async () => {
    const ino = await makeFile(t.fs, 1, 'f', { content: Buffer.from('x') });
    clock.tick(10);
    await t.fs.read(ROOT, ino, 0, 1);
    const t1 = (await t.fs.getattr(ino)).atime;
    assert.deepEqual(t1, clock.now());
    clock.sec += 3600;
    await t.fs.read(ROOT, ino, 0, 1);
    assert.deepEqual((await t.fs.getattr(ino)).atime, t1, 'not again within a day');
    clock.sec += 24 * 3600;
    await t.fs.read(ROOT, ino, 0, 1);
    assert.deepEqual((await t.fs.getattr(ino)).atime, clock.now());
    // Directories too (readdir).
    clock.sec += 2 * 24 * 3600;
    await t.fs.readdir(ROOT, 1, { cookie: 0n, verifier: Buffer.alloc(8), maxEntries: 10, withAttributes: false });
    assert.deepEqual((await t.fs.getattr(1)).atime, clock.now());
  });

  it('survives a restart with the atime it had (lazy atime is flushed on close)', async () => {
    const ino = await makeFile(t.fs, 1, 'f', { content: Buffer.from('x') });
    clock.tick(7);
    await t.fs.read(ROOT, ino, 0, 1);
    const atime = (await t.fs.getattr(ino)).atime;
    await t.reopen();
    assert.deepEqual((await t.fs.getattr(ino)).atime, atime);
  });

  it('bumps dataVersion on data changes and metaVersion on attribute changes, and reports them', async () => {
    const events: string[] = [];
    const off = t.fs.onChange((ino, kind) => events.push(`${ino}:${kind}`));
    const d = await makeDir(t.fs, 1, 'd');
    const ino = await makeFile(t.fs, d, 'f');
    const v0 = await t.fs.versions(ino);
    await t.fs.write(ROOT, ino, 0, Buffer.from('abc'), 'unstable');
    const v1 = await t.fs.versions(ino);
    assert.equal(v1.dataVersion, v0.dataVersion + 1);
    await t.fs.setattr(ROOT, ino, { mode: 0o600 });
    const v2 = await t.fs.versions(ino);
    assert.deepEqual([v2.dataVersion, v2.metaVersion], [v1.dataVersion, v1.metaVersion + 1]);
    await t.fs.setattr(ROOT, ino, { size: 1 });
    const v3 = await t.fs.versions(ino);
    assert.deepEqual([v3.dataVersion, v3.metaVersion], [v2.dataVersion + 1, v2.metaVersion + 1]);
    await t.fs.remove(ROOT, d, 'f');
    off();
    await makeFile(t.fs, 1, 'quiet');
    assert.ok(events.includes(`${d}:entries`), events.join(' '));
    assert.ok(events.includes(`${ino}:data`));
    assert.ok(events.includes(`${ino}:metadata`));
    assert.ok(events.includes(`${ino}:removed`));
    assert.ok(!events.some((e) => e.startsWith(`${ino + 1}:`)), 'unsubscribed');
  });

  it('chmod by the owner of a file, seen through getattr and after a restart', async () => {
    const ino = await makeFile(t.fs, 1, 'f', { owner: ALICE });
    await t.fs.setattr(ALICE, ino, { mode: 0o4711 });
    await t.reopen();
    const a = await t.fs.getattr(ino);
    assert.deepEqual([a.mode, a.uid], [0o4711, ALICE.uid]);
  });
});
