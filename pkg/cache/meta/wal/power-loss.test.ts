// Power loss, simulated: LMDB runs without fsync (metadata-store.ts), so after a power cut its
// file holds anything from "nothing since the last checkpoint" to "everything", and the log
// must bring back every acknowledged change. A child process (wal-power-loss.fixture.ts) runs
// real file-system operations, each acknowledged, and is killed with SIGKILL; then three copies
// of its cache directory are reopened:
//   - as it was (kill -9 on the same boot: the page cache kept every write) - the reference;
//   - with data.mdb replaced by the copy taken at the last checkpoint and the checkpoint marked
//     as written on another boot: LMDB lost everything after the checkpoint;
//   - with data.mdb as it was but the checkpoint from another boot: the meta pages are put back
//     to the checkpoint, everything written since (still in the file) must be ignored, and the
//     snapshot the checkpoint pinned must be intact.
// Each must hold exactly the reference's metadata (every database, every key, counters
// included) and show the tree the child saw.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { openCacheFileSystem } from '../../index';
import { MetadataStore } from '../metadata-store';
import { CheckpointFile } from './checkpoint';
import { describeTree } from './power-loss.fixture';
import { quietLog, tempDir } from '../../test-helpers';

const DBS = ['inodes', 'dirents', 'cookies', 'counters', 'dirty', 'orphans', 'links', 'remote', 'rkeys', 'pending', 'tombstones', 'blocks', 'settings'] as const;

/** Every key and value of every metadata database, except the log's own walSeq. */
async function dump(dir: string, bootId?: string): Promise<string> {
  const store = MetadataStore.open(dir, { bootId, logger: quietLog, wal: true });
  try {
    const out: Record<string, unknown[]> = {};
    for (const name of DBS) {
      const db = store[name] as unknown as { getRange(o: object): Iterable<{ key: unknown; value: unknown }> };
      out[name] = Array.from(db.getRange({}))
        .filter(({ key }) => !(name === 'counters' && key === 'walSeq'))
        .map(({ key, value }) => [key, value]);
    }
    return JSON.stringify(out);
  } finally {
    await store.close();
  }
}

/** Rewrites the checkpoint in force as if another boot had written it. */
function fromAnotherBoot(dir: string): void {
  const file = path.join(dir, 'meta', 'wal', 'checkpoint');
  const cp = CheckpointFile.peekSync(file)!;
  const f = CheckpointFile.openSync(file, cp.psize);
  f.writeSync({ ...cp, counter: cp.counter + 1, bootId: 'another-boot' });
  f.close();
}

function runFixture(dir: string, snapshot: string): Promise<Record<string, string>> {
  const script = path.join(__dirname, 'power-loss.fixture.js');
  const env = { ...process.env, S3FILES_METADATA_WAL: '1', S3FILES_WAL_CHECKPOINT_MS: '3600000' };
  const child = spawn(process.execPath, [script, dir, snapshot], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('done\n')) {
        child.kill('SIGKILL');
        const line = out.split('\n').find((l) => l.startsWith('tree '))!;
        child.on('exit', () => resolve(JSON.parse(line.slice(5)) as Record<string, string>));
      }
    });
    child.on('exit', (code) => {
      if (!out.includes('done\n')) reject(new Error(`fixture exited ${code}: ${err}`));
    });
  });
}

describe('cache metadata log: power loss', function () {
  this.timeout(60_000);
  let base: string;
  before(() => {
    base = tempDir();
  });
  after(() => fs.rmSync(base, { recursive: true, force: true }));

  it('every acknowledged change survives losing all of LMDB\'s writes since the last checkpoint, or its meta pages', async () => {
    const dir = path.join(base, 'run');
    const snapshot = path.join(base, 'data.mdb.at-checkpoint');
    const seen = await runFixture(dir, snapshot);
    fs.cpSync(dir, path.join(base, 'pristine'), { recursive: true });
    const lostAll = path.join(base, 'lost-all');
    const lostMetas = path.join(base, 'lost-metas');
    fs.cpSync(dir, lostAll, { recursive: true });
    fs.cpSync(dir, lostMetas, { recursive: true });
    fs.copyFileSync(snapshot, path.join(lostAll, 'meta', 'data.mdb'));
    fromAnotherBoot(lostAll);
    fromAnotherBoot(lostMetas);

    // Compared before anything else opens them (reading through the file system moves atimes).
    const reference = await dump(dir);
    assert.ok(reference.includes('moved36') && reference.includes('hard13'), 'the reference holds the operations');
    assert.equal(await dump(lostAll), reference, 'lost all writes since the checkpoint: same databases');
    assert.equal(await dump(lostMetas), reference, 'lost the meta pages: same databases');
    for (const d of [lostAll, lostMetas]) {
      const fsys = await openCacheFileSystem({ dir: d, logger: quietLog });
      try {
        assert.deepEqual(await describeTree(fsys, fsys.rootIno), seen, `${path.basename(d)}: the tree the writer saw`);
      } finally {
        await fsys.close();
      }
    }
  });

  it('a second power cut right after recovery (old segments invalidated) loses nothing either', async () => {
    const dir = path.join(base, 'run');
    const again = path.join(base, 'again');
    fs.cpSync(path.join(base, 'pristine'), again, { recursive: true });
    fs.copyFileSync(path.join(base, 'data.mdb.at-checkpoint'), path.join(again, 'meta', 'data.mdb'));
    fromAnotherBoot(again);
    const reference = await dump(dir);
    assert.equal(await dump(again), reference, 'first recovery');
    fromAnotherBoot(again);
    assert.equal(await dump(again), reference, 'recovered again from the checkpoint recovery wrote');
  });
});
