import assert from 'node:assert/strict';
import { ReplyCache } from './reply-cache';

const reply = (s: string) => ({ message: [Buffer.from(s)], cacheable: true });
const key = (xid: number, args = 'args') => ReplyCache.key('10.0.0.2', xid, 100003, 3, 12, Buffer.from(args));

describe('ReplyCache (duplicate request cache)', () => {
  it('replays the first reply to a retransmission instead of running the call again', async () => {
    const cache = new ReplyCache();
    let runs = 0;
    const first = await cache.run(key(7), async () => reply(`run ${++runs}`));
    const again = await cache.run(key(7), async () => reply(`run ${++runs}`));
    assert.equal(runs, 1);
    assert.equal(first.replayed, false);
    assert.equal(again.replayed, true);
    assert.equal(Buffer.concat(again.message).toString(), 'run 1');
  });

  it('a retransmission that arrives while the call runs waits for it and gets its reply', async () => {
    const cache = new ReplyCache();
    let finish!: () => void;
    let runs = 0;
    const slow = cache.run(key(8), () => {
      runs++;
      return new Promise((resolve) => (finish = () => resolve(reply('slow'))));
    });
    const dup = cache.run(key(8), async () => reply(`dup ${++runs}`));
    finish();
    const [a, b] = await Promise.all([slow, dup]);
    assert.equal(runs, 1);
    assert.equal(Buffer.concat(a.message).toString(), 'slow');
    assert.equal(Buffer.concat(b.message).toString(), 'slow');
    assert.equal(b.replayed, true);
  });

  it('the same xid with other arguments (or another client) is another call', async () => {
    const cache = new ReplyCache();
    let runs = 0;
    await cache.run(key(9, 'a'), async () => reply(String(++runs)));
    await cache.run(key(9, 'b'), async () => reply(String(++runs)));
    await cache.run(ReplyCache.key('10.0.0.3', 9, 100003, 3, 12, Buffer.from('a')), async () => reply(String(++runs)));
    assert.equal(runs, 3);
  });

  it('does not keep replies marked not cacheable, nor failures', async () => {
    const cache = new ReplyCache();
    let runs = 0;
    await cache.run(key(10), async () => ({ message: [Buffer.from('system_err')], cacheable: false }));
    await cache.run(key(10), async () => reply(String(++runs)));
    await assert.rejects(cache.run(key(11), async () => Promise.reject(new Error('boom'))));
    await cache.run(key(11), async () => reply(String(++runs)));
    assert.equal(runs, 2);
  });

  it('forgets entries past their age and keeps at most maxEntries', async () => {
    let now = 0;
    const cache = new ReplyCache({ maxEntries: 3, ttlMs: 1000, now: () => now });
    let runs = 0;
    await cache.run(key(1), async () => reply(String(++runs)));
    now = 1001;
    await cache.run(key(1), async () => reply(String(++runs)));
    assert.equal(runs, 2, 'an expired entry runs again');
    for (let xid = 2; xid < 10; xid++) await cache.run(key(xid), async () => reply(String(++runs)));
    assert.ok(cache.size <= 3, `size ${cache.size}`);
  });
});
