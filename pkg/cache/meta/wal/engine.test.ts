import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Unpackr } from 'msgpackr';
import { FsError } from '../../../vfs';
import { MetadataStore } from '../metadata-store';
import { CheckpointFile } from './checkpoint';
import { planReplay } from './recovery';
import { SegmentPool } from './segments';
import { quietLog, tempDir } from '../../test-helpers';

const unpackr = new Unpackr({ useRecords: false });

/** The operations the log holds for replay from walSeq 0, as [db, key, value?]. */
function loggedOps(dir: string): unknown[][] {
  const pool = SegmentPool.openSync(path.join(dir, 'meta', 'wal'), 1024 * 1024);
  const plan = planReplay(pool, 0);
  void pool.close();
  return plan.records.flatMap((r) => unpackr.unpackMultiple(r.payload) as unknown[][]);
}

function fromAnotherBoot(dir: string): void {
  const file = path.join(dir, 'meta', 'wal', 'checkpoint');
  const cp = CheckpointFile.peekSync(file)!;
  const f = CheckpointFile.openSync(file, cp.psize);
  f.writeSync({ ...cp, counter: cp.counter + 1, bootId: 'another-boot' });
  f.close();
}

describe('cache metadata log: transactions', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a transaction sent while the store closes is refused (EIO), never left unsettled, and no checkpoint runs on the closed database', async () => {
    const store = MetadataStore.open(dir, { wal: true, bootId: 'b1', checkpointIntervalMs: 5, logger: quietLog });
    await store.transact(() => store.settings.putSync('a', '1'));
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const closing = store.close();
      // A few turns in, close() is past its queue (a transaction then was never run, nor answered).
      for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
      const late = store.transact(() => store.settings.putSync('b', '2')).then(() => 'committed', (e: FsError) => e.code);
      await closing;
      const outcome = await Promise.race([late, new Promise((r) => setTimeout(() => r('never settled'), 500))]);
      assert.equal(outcome, 'EIO');
      assert.deepEqual(uncaught, []);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('logs the writes of a transaction; one whose code throws leaves no write and no record', async () => {
    const store = MetadataStore.open(dir, { wal: true, bootId: 'b1', checkpointIntervalMs: 3_600_000, logger: quietLog });
    assert.equal(store.logged, true);
    const results = await Promise.allSettled([
      store.transact(() => store.settings.putSync('a', '1')),
      store.transact(() => {
        store.settings.putSync('b', '2');
        throw new FsError('EEXIST', 'changed its mind');
      }),
      store.transact(() => {
        store.settings.putSync('c', '3');
        store.settings.removeSync('a');
      }),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal((results[1] as PromiseRejectedResult).reason.code, 'EEXIST');
    assert.deepEqual([store.settings.get('a'), store.settings.get('b'), store.settings.get('c')], [undefined, undefined, '3']);
    const settings = 12; // the log's number for the settings database (metadata-store.ts order)
    assert.deepEqual(loggedOps(dir), [[settings, 'a', '1'], [settings, 'c', '3'], [settings, 'a']]);

    // Alone in its batch (no child transaction): the same, by rolling back the whole one.
    await assert.rejects(
      store.transact(() => {
        store.settings.putSync('d', '4');
        store.settings.removeSync('c');
        throw new FsError('ENOENT', 'changed its mind, alone');
      }),
      (err: FsError) => err.code === 'ENOENT',
    );
    assert.deepEqual([store.settings.get('c'), store.settings.get('d')], ['3', undefined]);
    await store.transact(() => store.settings.putSync('e', '5'));
    assert.equal(store.settings.get('e'), '5');
    assert.deepEqual(loggedOps(dir).slice(3), [[settings, 'e', '5']]);
    await store.close();
  });

  it('[error] refuses a write outside transact(): it could not be logged', async () => {
    const store = MetadataStore.open(dir, { wal: true, logger: quietLog });
    assert.throws(() => store.settings.putSync('x', 'y'), /outside MetadataStore.transact/);
    assert.equal(store.settings.get('x'), undefined);
    await store.close();
  });

  it('[error] a commit that fails (file too large) is never logged; every acknowledged one replays', function () {
    if (process.platform !== 'linux') this.skip();
    const script = path.join(__dirname, 'commit-failure.fixture.js');
    // 4096 blocks of 512 bytes: data.mdb may not pass 2 MiB; the log's segments are 256 KiB.
    const r = spawnSync('sh', ['-c', 'ulimit -f 4096; exec "$0" "$1" "$2"', process.execPath, script, dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { acked: number[]; failed: Array<[number, string]> };
    assert.ok(out.acked.length > 20, `acknowledged ${out.acked.length}`);
    assert.equal(out.failed.length, 5);
    assert.ok(out.failed.every(([, code]) => code === 'EIO' || code === 'ENOSPC'), JSON.stringify(out.failed));
    // A power cut: LMDB goes back to the start-up checkpoint (empty); only the log brings
    // back what was acknowledged, and nothing of what failed.
    fromAnotherBoot(dir);
    const store = MetadataStore.open(dir, { wal: true, logger: quietLog });
    try {
      for (const k of out.acked) assert.equal(store.settings.get(`k${k}`)?.slice(0, `${k}:`.length), `${k}:`, `k${k}`);
      for (const [k] of out.failed) assert.equal(store.settings.get(`k${k}`), undefined, `k${k} failed and must not exist`);
    } finally {
      void store.close();
    }
  });

  it('a background checkpoint overtaken by two blocking ones leaves the newest one in force', async () => {
    const store = MetadataStore.open(dir, { wal: true, bootId: 'b1', checkpointIntervalMs: 3_600_000, logger: quietLog });
    await store.transact(() => store.settings.putSync('a', '1'));
    // White box: the engine's own checkpoint steps, in the order a nearly full disk runs them
    // (unpinIfShortOfSpace) while a background checkpoint is still syncing data.mdb.
    const engine = (store as unknown as { wal: { runCheckpoint(force: boolean): Promise<void>; checkpointSync(): void; inForce: number } }).wal;
    const background = engine.runCheckpoint(true);
    engine.checkpointSync();
    engine.checkpointSync();
    await background;
    const file = path.join(dir, 'meta', 'wal', 'checkpoint');
    assert.equal(CheckpointFile.peekSync(file)!.counter, engine.inForce, 'the slot of the newest checkpoint was not overwritten');
    await store.close();
  });
});

