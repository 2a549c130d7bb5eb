import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FdCache } from './fd-cache';
import { tempDir } from '../test-helpers';

describe('FdCache', () => {
  let dir: string;
  let opened: number;
  let closed: Array<[number, boolean]>;
  let cache: FdCache;
  beforeEach(() => {
    dir = tempDir();
    opened = 0;
    closed = [];
    cache = new FdCache(
      {
        open: async (key, create) => {
          opened++;
          return fs.openSync(path.join(dir, String(key)), create ? 'a+' : 'r');
        },
        beforeClose: async (key, _fd, evicted) => {
          closed.push([key, evicted]);
        },
      },
      3,
    );
  });
  afterEach(async () => {
    await cache.closeAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps descriptors open between uses and evicts the least recently used', async () => {
    for (const k of [1, 2, 3, 1, 1]) await cache.use(k, true, async () => undefined);
    assert.equal(opened, 3);
    await cache.use(4, true, async () => undefined);
    assert.deepEqual(closed, [[2, true]]);
    assert.equal(cache.openCount, 3);
  });

  it('never closes a descriptor in use and shares one open between concurrent users', async () => {
    let release!: () => void;
    const held = cache.use(1, true, (fd) => new Promise<void>((r) => (release = () => (fs.fstatSync(fd), r()))));
    await Promise.all([2, 3, 4, 5, 1, 1].map((k) => cache.use(k, true, async () => undefined)));
    assert.ok(!closed.some(([k]) => k === 1), 'in use');
    release();
    await held;
    assert.equal(opened, 5);
  });

  it('drops a deleted file on its last release, and forgets failed opens', async () => {
    let release!: () => void;
    const held = cache.use(7, true, () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setImmediate(r));
    cache.drop(7);
    assert.equal(closed.length, 0);
    release();
    await held;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(closed, [[7, false]]);
    await assert.rejects(cache.use(99, false, async () => undefined), /ENOENT/);
    assert.equal(cache.openCount, 0);
  });
});
