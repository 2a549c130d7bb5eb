import assert from 'node:assert/strict';
import { RwLock } from './rw-lock';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('RwLock', () => {
  it('lets readers share and keeps a writer alone', async () => {
    const lock = new RwLock();
    const log: string[] = [];
    let inside = 0;
    let maxReaders = 0;
    const reader = (id: number) =>
      lock.shared(async () => {
        inside++;
        maxReaders = Math.max(maxReaders, inside);
        log.push(`r${id}+`);
        await tick();
        log.push(`r${id}-`);
        inside--;
      });
    const r1 = reader(1);
    const r2 = reader(2);
    const writer = lock.exclusive(async () => {
      assert.equal(inside, 0);
      log.push('w+');
      await tick();
      log.push('w-');
    });
    await Promise.all([r1, r2, writer, reader(3)]);
    assert.equal(maxReaders, 2);
    // r3 arrived while the writer waited: it goes after the writer, not around it.
    assert.ok(log.indexOf('w-') < log.indexOf('r3+'), log.join(' '));
    assert.ok(log.indexOf('r1-') < log.indexOf('w+') && log.indexOf('r2-') < log.indexOf('w+'), log.join(' '));
    assert.equal(lock.idle, true);
  });

  it('releases the lock when the holder throws', async () => {
    const lock = new RwLock();
    await assert.rejects(lock.exclusive(async () => Promise.reject(new Error('boom'))));
    await assert.rejects(lock.shared(async () => Promise.reject(new Error('boom'))));
    assert.equal(await lock.exclusive(async () => 'free'), 'free');
  });
});
