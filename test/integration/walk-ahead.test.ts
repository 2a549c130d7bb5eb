// Tree walks list ahead (pkg/cache/link/walk-ahead.ts), against FolderStore and Ceph RGW: which
// prefixes the bucket is asked to list (a recording store in front of the real one) when a
// client reads one directory, then a second sibling, then the next; and a walk of a whole tree
// still reads every file's bytes and the objects' own owners.
import assert from 'node:assert/strict';
import type { ObjectStore } from '../../pkg/s3/object-store';
import { forBothStores, type StoreSetup } from '../support/both-stores';
import { ROOT, linkedExport, listNames, readFile, resolve, uniquePrefix, type TestExport } from '../support/linked-fs';
import { recordingStore, type RecordingStore } from '../support/recording-store';

const DIRS = 20;
const AHEAD = 8;
const dirName = (i: number) => `d${String(i).padStart(2, '0')}`;

function walkAheadSuite(name: string, setup: () => Promise<StoreSetup>): void {
  describe(`tree walks list the next directories ahead (${name})`, function () {
    this.timeout(60_000);
    let store: ObjectStore;
    let cleanup: () => Promise<void>;
    let prefix = '';
    let rec: RecordingStore;
    let t: TestExport | undefined;

    before(async () => ({ store, cleanup } = await setup()));
    beforeEach(async function () {
      prefix = uniquePrefix(this.currentTest?.title.slice(0, 16).replace(/[^a-z0-9]+/gi, '-') ?? 't');
      for (let i = 0; i < DIRS; i++) {
        await store.put(`${prefix}tree/${dirName(i)}/a.txt`, Buffer.from(`a of ${i}`), { metadata: { mode: String(0o100640), uid: String(1000 + i), gid: '100' } });
        await store.put(`${prefix}tree/${dirName(i)}/b.txt`, Buffer.from(`b of ${i}`));
      }
      await store.put(`${prefix}tree/top.txt`, Buffer.from('top'));
      rec = recordingStore(store);
      t = await linkedExport(rec.store, prefix);
    });
    afterEach(async () => {
      await t?.cleanup();
      t = undefined;
    });
    after(async () => cleanup?.());

    /** The directories under tree/ the bucket was asked to list, once the background is quiet. */
    async function listedDirs(): Promise<string[]> {
      await t!.fs.sync!.importsIdle();
      const under = `${prefix}tree/`;
      return rec.calls.filter((c) => c.op === 'list' && c.key.startsWith(under) && c.key !== under).map((c) => c.key.slice(under.length, -1)).sort();
    }

    it('one directory read alone lists nothing ahead; a second sibling lists the next ones; each step keeps the window', async () => {
      await listNames(t!.fs, 'tree');
      assert.deepEqual(await listedDirs(), []);
      assert.deepEqual(await listNames(t!.fs, `tree/${dirName(0)}`), ['a.txt', 'b.txt']);
      assert.deepEqual(await listedDirs(), [dirName(0)], 'a single `ls` of a directory lists only it');
      await listNames(t!.fs, `tree/${dirName(1)}`);
      const window = Array.from({ length: AHEAD + 2 }, (_, i) => dirName(i));
      assert.deepEqual(await listedDirs(), window, 'the second sibling read lists the next ones ahead');
      await listNames(t!.fs, `tree/${dirName(2)}`);
      assert.deepEqual(await listedDirs(), [...window, dirName(AHEAD + 2)], 'the next step lists one more');
      assert.equal(rec.calls.filter((c) => c.op === 'list' && c.key === `${prefix}tree/${dirName(5)}/`).length, 1, 'a directory listed ahead is not listed again when read');
    });

    it('a whole walk reads every file, with the objects owners, each directory listed once', async () => {
      const tree = await resolve(t!.fs, 'tree');
      for (let i = 0; i < DIRS; i++) {
        const d = (await t!.fs.lookup(ROOT, tree, dirName(i))).ino;
        const page = await t!.fs.readdir(ROOT, d, { cookie: 0n, verifier: Buffer.alloc(8), maxEntries: 100, withAttributes: true });
        const a = page.entries.find((e) => e.name === 'a.txt')!;
        assert.deepEqual([a.attributes!.uid, a.attributes!.mode & 0o7777], [1000 + i, 0o640], dirName(i));
        assert.equal((await readFile(t!.fs, `tree/${dirName(i)}/b.txt`)).toString(), `b of ${i}`);
      }
      assert.deepEqual(await listedDirs(), Array.from({ length: DIRS }, (_, i) => dirName(i)));
      const perDir = new Map<string, number>();
      for (const c of rec.calls) if (c.op === 'list') perDir.set(c.key, (perDir.get(c.key) ?? 0) + 1);
      assert.deepEqual([...perDir.values()].filter((n) => n > 1), [], 'no directory listed twice');
    });
  });
}

forBothStores('walk', walkAheadSuite);
