import assert from 'node:assert/strict';
import fs from 'node:fs';
import { FsError } from '../../vfs';
import { systemClock } from '../util/clock';
import { newInodeRecord, type InodeRecord } from './inode';
import { InodeTable } from './inode-table';
import { MetadataStore } from './metadata-store';
import { runMutation, type MutationDeps } from './mutation';
import { tempDir } from '../test-helpers';

describe('cache inode table: clean record cache', () => {
  let dir: string;
  let store: MetadataStore;
  let inodes: InodeTable;
  let deps: MutationDeps;

  beforeEach(async () => {
    dir = tempDir();
    store = MetadataStore.open(dir);
    inodes = new InodeTable(store, 4);
    inodes.cacheCommitted();
    deps = { store, inodes, clock: systemClock() };
    await store.transact(() => {
      for (let ino = 10; ino < 16; ino++) store.inodes.putSync(ino, newInodeRecord(ino, { type: 'file', mode: 0o644, uid: 1, gid: 1 }, { sec: 1, nsec: 0 }));
    });
  });

  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const save = (ino: number, change: (r: InodeRecord) => void, thenThrow = false): Promise<unknown> =>
    runMutation(deps, (m) => {
      const rec = m.inode(ino);
      change(rec);
      m.save(rec);
      // Read through the table inside the transaction, after the write and after enough other
      // reads to push the record out of the cache: what LMDB shows now is not committed yet.
      for (let other = 10; other < 16; other++) inodes.get(other);
      inodes.get(ino);
      if (thenThrow) throw new FsError('EEXIST', 'test');
    });

  it('[cache] a committed change is seen by the next read', async () => {
    assert.equal(inodes.get(10)?.mode, 0o644);
    await save(10, (r) => (r.mode = 0o600));
    assert.equal(inodes.get(10)?.mode, 0o600);
    assert.equal(inodes.hotCount, 0, 'the hot entry went once the change was durable');
    assert.equal(inodes.get(10)?.mode, 0o600);
  });

  it('[cache] a change whose operation failed is never seen', async () => {
    assert.equal(inodes.get(11)?.uid, 1);
    await assert.rejects(save(11, (r) => (r.uid = 99), true), /test/);
    assert.equal(inodes.get(11)?.uid, 1);
    assert.equal(store.inodes.get(11)?.uid, 1);
  });

  it('[cache] a deleted inode is gone; an in-memory update is seen at once', async () => {
    inodes.get(12);
    await runMutation(deps, (m) => m.delete(m.inode(12)));
    assert.equal(inodes.get(12), undefined);
    inodes.get(13);
    inodes.update(13, (r) => (r.size = 4096));
    assert.equal(inodes.get(13)?.size, 4096);
  });

  it('[cache] nothing is remembered before cacheCommitted() (recovery writes LMDB directly)', async () => {
    const fresh = new InodeTable(store, 4);
    assert.equal(fresh.get(14)?.mode, 0o644);
    await store.transact(() => store.inodes.putSync(14, { ...store.inodes.get(14)!, mode: 0o600 }));
    assert.equal(fresh.get(14)?.mode, 0o600);
    fresh.cacheCommitted();
    assert.equal(fresh.get(14)?.mode, 0o600);
  });

  it('[cache] stays within its bound and still answers for evicted records', () => {
    for (let ino = 10; ino < 16; ino++) assert.equal(inodes.get(ino)?.ino, ino);
    const clean = (inodes as unknown as { clean: Map<number, InodeRecord> }).clean;
    assert.equal(clean.size, 4);
    assert.equal(inodes.get(10)?.ino, 10);
    assert.equal(inodes.get(99), undefined);
  });
});
