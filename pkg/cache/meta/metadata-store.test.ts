import assert from 'node:assert/strict';
import fs from 'node:fs';
import { FsError } from '../../vfs';
import { MetadataStore } from './metadata-store';
import { tempDir } from '../test-helpers';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

// transact() commits a lone transaction on the calling thread and overlapping ones through
// lmdb's group commit (metadata-store.ts, commitHere): both must give the same guarantees.
describe('cache metadata store: synced commits, alone and overlapping', () => {
  let dir: string;
  let store: MetadataStore;
  beforeEach(() => {
    dir = tempDir();
    store = MetadataStore.open(dir, { wal: false });
  });
  afterEach(async () => {
    await store.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('one at a time: each sees the last, and all are there after reopening', async () => {
    for (let i = 0; i < 50; i++) {
      await nextTurn();
      await store.transact(() => {
        assert.equal(store.counter('nextIno'), i);
        store.addCounter('nextIno', 1);
      });
    }
    await store.close();
    store = MetadataStore.open(dir, { wal: false });
    assert.equal(store.counter('nextIno'), 50);
  });

  it('a burst: every transaction applies exactly once, in call order', async () => {
    const seen: number[] = [];
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        store.transact(() => {
          seen.push(store.counter('nextIno'));
          store.addCounter('nextIno', 1);
          store.dirty.putSync(i, 1);
        }),
      ),
    );
    assert.deepEqual(seen, Array.from({ length: 200 }, (_, i) => i));
    await store.close();
    store = MetadataStore.open(dir, { wal: false });
    assert.equal(store.counter('nextIno'), 200);
    assert.equal(store.listDirty().length, 200);
  });

  it('[error] an operation that throws leaves none of its writes, alone or in a burst', async () => {
    const failing = (ino: number) => () => {
      store.dirty.putSync(ino, 1);
      throw new FsError('EEXIST', 'refused half-way');
    };
    await nextTurn();
    await assert.rejects(store.transact(failing(1)), (e: unknown) => e instanceof FsError && e.code === 'EEXIST');
    const burst = [
      store.transact(() => store.dirty.putSync(2, 1)),
      store.transact(failing(3)),
      store.transact(() => store.dirty.putSync(4, 1)),
    ];
    const settled = await Promise.allSettled(burst);
    assert.deepEqual(settled.map((s) => s.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual(store.listDirty().sort(), [2, 4]);
  });
});
