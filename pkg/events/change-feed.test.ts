// ChangeFeed's own rules, with the cache side replaced by a recorder of what it was asked
// (remote-changes.ts is exercised for real by the integration tests): bursts coalesced per
// directory, memory bounded (overflow → gap), keys outside the export skipped, our own writes
// (also in flight when the event comes, as RGW sends it) dropped, S3's sequencers respected.
import assert from 'node:assert/strict';
import winston from 'winston';
import type { ChangeOutcome, RemoteChange, RemoteChanges } from '../cache';
import { OwnWrites } from '../reconcile/own-writes';
import { ChangeFeed } from './change-feed';
import type { BucketChange } from './records';

const silent = winston.createLogger({ silent: true });

class RecordingChanges {
  calls: Array<{ dir: string; changes: RemoteChange[] }> = [];
  gaps = 0;
  async directoryChanged(dir: string, changes: RemoteChange[]): Promise<ChangeOutcome> {
    this.calls.push({ dir, changes });
    return 'relisted';
  }
  async everythingStale(): Promise<number> {
    this.gaps++;
    return 0;
  }
}

const change = (key: string, extra: Partial<BucketChange> = {}): BucketChange => ({ bucket: 'b', key, removed: false, source: 'ceph:s3', ...extra });

describe('ChangeFeed', () => {
  let rec: RecordingChanges;
  let own: OwnWrites;
  let feed: ChangeFeed;
  const make = (maxPending = 10_000) => {
    rec = new RecordingChanges();
    own = new OwnWrites();
    feed = new ChangeFeed({ name: 'e', bucket: 'b', prefix: 'vol/', changes: rec as unknown as RemoteChanges, ownWrites: own }, { log: silent, coalesceMs: 10, maxPending });
  };
  afterEach(async () => feed.close());

  it('a burst is one call per directory, each key once (the latest)', async () => {
    make();
    const burst: BucketChange[] = [];
    for (let i = 0; i < 1000; i++) burst.push(change(`vol/d${i % 3}/f${i % 50}`, { etag: `e${i}` }));
    feed.accept(burst);
    await feed.settled();
    assert.deepEqual(rec.calls.map((c) => c.dir).sort(), ['d0/', 'd1/', 'd2/']);
    const d0 = rec.calls.find((c) => c.dir === 'd0/')!;
    assert.equal(d0.changes.length, new Set(burst.filter((c) => c.key.startsWith('vol/d0/')).map((c) => c.key)).size);
    assert.equal(d0.changes.find((c) => c.rkey === 'd0/f0')!.etag, 'e900'); // the last of i ≡ 0 (mod 3), i ≡ 0 (mod 50)
    assert.equal(feed.status().pending, 0);
  });

  it('keys of other buckets and outside the prefix are skipped; the root is ""', async () => {
    make();
    feed.accept([change('other/x'), change('vol/x', { bucket: 'c' }), change('vol/'), change('vol/top.txt', { removed: true })]);
    await feed.settled();
    assert.deepEqual(rec.calls, [{ dir: '', changes: [{ rkey: 'top.txt', removed: true, etag: undefined, atMs: undefined, sequencer: undefined, aws: false }] }]);
    assert.equal(feed.status().outsidePrefix, 3);
  });

  it('[error] more keys waiting than maxPending: dropped, and a gap instead', async () => {
    make(100);
    feed.accept(Array.from({ length: 150 }, (_, i) => change(`vol/d${i}/f`)));
    await feed.settled();
    assert.equal(rec.gaps, 1);
    assert.equal(feed.status().overflows, 1);
    assert.ok(rec.calls.length <= 50, `only what came after the overflow is applied (${rec.calls.length})`);
  });

  it('our own writes cost nothing, also when the event arrives while the write is in flight', async () => {
    make();
    own.begin('vol/mine.txt');
    feed.accept([change('vol/mine.txt', { etag: 'abc' })]); // RGW: before our PUT is answered
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(rec.calls.length, 0, 'waits for the write');
    own.end('vol/mine.txt', { kind: 'written', etag: '"ABC"' });
    own.begin('vol/gone.txt');
    own.end('vol/gone.txt', { kind: 'removed' });
    feed.accept([change('vol/gone.txt', { removed: true })]);
    feed.accept([change('vol/mine.txt', { etag: 'other' })]); // someone else's write after ours
    await new Promise((r) => setTimeout(r, 30));
    await feed.settled();
    assert.equal(feed.status().own, 2);
    assert.deepEqual(rec.calls.map((c) => c.changes.map((x) => [x.rkey, x.etag])), [[['mine.txt', 'other']]]);
  });

  it('a failed write of ours does not hide the event', async () => {
    make();
    own.begin('vol/f');
    feed.accept([change('vol/f', { etag: 'x' })]);
    own.end('vol/f', undefined);
    await new Promise((r) => setTimeout(r, 30));
    await feed.settled();
    assert.equal(rec.calls.length, 1);
  });

  it('S3 sequencers: an older event of a key does not replace a newer one in the batch', async () => {
    make();
    feed.accept([
      change('vol/k', { source: 'aws:s3', sequencer: '0055AED6DCD90281E6', etag: 'new' }),
      change('vol/k', { source: 'aws:s3', sequencer: '0055AED6DCD90281E5', etag: 'old', removed: true }),
    ]);
    await feed.settled();
    assert.deepEqual(rec.calls[0]!.changes.map((c) => [c.etag, c.removed]), [['new', false]]);
  });

  it('a gap marks everything stale; nothing is applied after close', async () => {
    make();
    feed.gap('test');
    await feed.settled();
    assert.equal(rec.gaps, 1);
    await feed.close();
    feed.accept([change('vol/late')]);
    feed.gap('late');
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(rec.calls.length, 0);
    assert.equal(rec.gaps, 1);
  });
});
