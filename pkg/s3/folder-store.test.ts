// FolderStore specifics beyond the shared contract (test/support/object-store-contract.ts):
// what lands on disk, crash leftovers, single ownership of a folder.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ObjectStoreError } from './errors';
import { FolderStore } from './folder-store';

async function walkFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walkFiles(p)));
    else out.push(p);
  }
  return out;
}

describe('FolderStore on disk', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 's3files-folder-unit-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('keeps every key, hostile ones included, inside objects/', async () => {
    const s = await FolderStore.open(join(root, 'store'));
    for (const key of ['../escape', 'a/../../escape', '/abs', '..', '.', 'a//b', 'x'.repeat(300) + '/y']) {
      await s.put(key, Buffer.from(key));
      assert.equal((await s.getBuffer(key)).data.toString(), key);
    }
    const files = await walkFiles(root);
    for (const f of files) assert.ok(!relative(join(root, 'store'), f).startsWith('..'), f);
    assert.deepEqual((await readdir(root)).sort(), ['store']);
    const listed = (await s.list({})).objects.map((o) => o.key);
    assert.equal(listed.length, 7);
    assert.ok(listed.includes('x'.repeat(300) + '/y'));
  });

  it('removes crash leftovers in tmp/ when opened and removes emptied directories on delete', async () => {
    const dir = join(root, 'store');
    const s = await FolderStore.open(dir);
    await s.put('deep/er/key', Buffer.from('x'));
    await writeFile(join(dir, 'tmp', 'half-written'), 'junk');
    await FolderStore.open(dir); // same process: allowed
    assert.deepEqual(await readdir(join(dir, 'tmp')), []);
    await s.delete('deep/er/key');
    assert.deepEqual(await readdir(join(dir, 'objects')), []);
  });

  it('[error] refuses a folder held by another live process', async () => {
    const dir = join(root, 'store');
    await FolderStore.open(dir);
    await writeFile(join(dir, 'LOCK'), '1\n'); // PID 1 is always alive
    await assert.rejects(FolderStore.open(dir), (e: Error) => e instanceof ObjectStoreError && /in use by process 1/.test(e.message));
  });
});
