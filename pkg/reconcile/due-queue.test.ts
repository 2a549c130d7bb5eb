import assert from 'node:assert/strict';
import { DueQueue } from './due-queue';

function takeAll(q: DueQueue, now: number, deletionsOnly = false): string[] {
  const out: string[] = [];
  for (let t = q.take(now, deletionsOnly); t; t = q.take(now, deletionsOnly)) out.push(t.id);
  return out;
}

describe('DueQueue: the reconciler schedule', () => {
  it('takes what is due, earliest first (ties in the order scheduled), and nothing not yet due', () => {
    const q = new DueQueue();
    q.set('i:1', 300);
    q.set('i:2', 100);
    q.set('t:a', 200);
    q.set('i:3', 100);
    q.set('i:4', 900);
    assert.deepEqual(takeAll(q, 500), ['i:2', 'i:3', 't:a', 'i:1']);
    assert.equal(q.size, 1);
    assert.equal(q.take(899), undefined);
    assert.deepEqual(q.take(900), { id: 'i:4', at: 900 });
    assert.equal(q.size, 0);
  });

  it('a job scheduled again is taken once, at its new time; a deleted one never', () => {
    const q = new DueQueue();
    q.set('i:1', 100);
    q.set('i:2', 150);
    q.set('i:1', 400);
    q.delete('i:2');
    assert.deepEqual(takeAll(q, 300), []);
    assert.deepEqual(takeAll(q, 400), ['i:1']);
    q.set('i:1', 50);
    q.set('i:1', 50);
    assert.deepEqual(takeAll(q, 60), ['i:1'], 'scheduled twice at the same time: taken once');
  });

  it('takes deletions alone when asked, leaving the files due before them', () => {
    const q = new DueQueue();
    q.set('i:1', 10);
    q.set('t:x', 20);
    q.set('i:2', 30);
    q.set('t:y', 40);
    assert.deepEqual(takeAll(q, 100, true), ['t:x', 't:y']);
    assert.deepEqual(takeAll(q, 100), ['i:1', 'i:2']);
  });

  it('stays right through many reschedules (stale entries are dropped and the heaps rebuilt)', () => {
    const q = new DueQueue();
    const want = new Map<string, number>();
    let r = 1;
    const rand = () => (r = (r * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 20_000; i++) {
      const id = `${rand() < 0.3 ? 't' : 'i'}:${Math.floor(rand() * 500)}`;
      if (rand() < 0.1) {
        q.delete(id);
        want.delete(id);
      } else {
        const at = Math.floor(rand() * 1000);
        q.set(id, at);
        want.set(id, at);
      }
    }
    assert.equal(q.size, want.size);
    const taken = [];
    for (let t = q.take(1000); t; t = q.take(1000)) taken.push(t);
    assert.deepEqual(taken.map((t) => t.at), [...want.values()].sort((a, b) => a - b), 'in order of due time');
    assert.deepEqual(new Set(taken.map((t) => t.id)), new Set(want.keys()));
  });
});
