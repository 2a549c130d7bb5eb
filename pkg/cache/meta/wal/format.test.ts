import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  decodeSegmentHeader,
  encodeRecord,
  encodeSegmentHeader,
  readRecords,
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
} from './format';
import { WalLog } from './log';
import { planReplay } from './recovery';
import { SegmentPool } from './segments';
import { quietLog, tempDir } from '../../test-helpers';

const nonce = Buffer.from('0123456789abcdef', 'hex');

/** A segment body: header, then the records seq first..last (each continuing the previous). */
function body(first: number, last: number, size = 4096, n = nonce): Buffer {
  const buf = Buffer.alloc(size);
  encodeSegmentHeader({ segNo: 1, nonce: n }).copy(buf, 0);
  let at = SEGMENT_HEADER_BYTES;
  for (let seq = first; seq <= last; seq++) {
    const rec = encodeRecord(n, seq, seq - 1, Buffer.from(`payload ${seq}`));
    rec.copy(buf, at);
    at += rec.length;
  }
  return buf;
}

const seqs = (buf: Buffer, n = nonce): number[] => readRecords(buf, SEGMENT_HEADER_BYTES, n).map((r) => r.seq);

describe('cache metadata log: framing', () => {
  it('reads back records and their payloads; stops at zeroed (preallocated) space', () => {
    const buf = body(1, 5);
    const recs = readRecords(buf, SEGMENT_HEADER_BYTES, nonce);
    assert.deepEqual(recs.map((r) => [r.seq, r.prev, r.payload.toString()]), [1, 2, 3, 4, 5].map((s) => [s, s - 1, `payload ${s}`]));
    assert.deepEqual(readRecords(Buffer.alloc(4096), SEGMENT_HEADER_BYTES, nonce), []);
  });

  it('[error] a torn tail ends the segment before the torn record', () => {
    const buf = body(1, 3);
    const third = readRecords(buf, SEGMENT_HEADER_BYTES, nonce)[2]!;
    // The last record's bytes only partly reached the disk: the rest is what was there (zeros).
    buf.fill(0, third.end - 4, third.end);
    assert.deepEqual(seqs(buf), [1, 2]);
    // Torn inside the header of a record (length present, rest missing).
    const b2 = body(1, 3);
    const second = readRecords(b2, SEGMENT_HEADER_BYTES, nonce)[1]!;
    b2.fill(0, second.end + 4, b2.length);
    assert.deepEqual(seqs(b2), [1, 2]);
  });

  it('[error] a flipped byte anywhere in a record fails its CRC, and nothing after it is read', () => {
    const clean = body(1, 4);
    const second = readRecords(clean, SEGMENT_HEADER_BYTES, nonce)[1]!;
    const start = readRecords(clean, SEGMENT_HEADER_BYTES, nonce)[0]!.end;
    for (let at = start; at < second.end; at++) {
      const buf = Buffer.from(clean);
      buf[at] ^= 0x10;
      assert.deepEqual(seqs(buf), [1], `flip at ${at - start}`);
    }
  });

  it('[error] records of an earlier activation (another nonce) are not this segment\'s', () => {
    const old = body(1, 3, 4096, Buffer.from('ffffffffffffffff', 'hex'));
    assert.deepEqual(seqs(old), []);
    // New records over the start of a recycled segment: the old ones after them are stale.
    const fresh = body(10, 11, 4096);
    const end = readRecords(fresh, SEGMENT_HEADER_BYTES, nonce)[1]!.end;
    const oldRecs = readRecords(old, SEGMENT_HEADER_BYTES, Buffer.from('ffffffffffffffff', 'hex'));
    assert.equal(oldRecs.length, 3);
    old.copy(fresh, end, oldRecs[0]!.end, oldRecs[2]!.end);
    assert.deepEqual(seqs(fresh), [10, 11]);
  });

  it('[error] a seq that does not increase ends the segment', () => {
    const buf = body(5, 6);
    const end = readRecords(buf, SEGMENT_HEADER_BYTES, nonce)[1]!.end;
    encodeRecord(nonce, 4, 3, Buffer.from('stale')).copy(buf, end);
    assert.deepEqual(seqs(buf), [5, 6]);
  });

  it('[error] a damaged segment header means no segment', () => {
    const h = encodeSegmentHeader({ segNo: 42, nonce });
    assert.equal(decodeSegmentHeader(h)?.segNo, 42);
    const bad = Buffer.from(h);
    bad[10] ^= 1;
    assert.equal(decodeSegmentHeader(bad), undefined);
    assert.equal(decodeSegmentHeader(Buffer.alloc(SEGMENT_HEADER_BYTES)), undefined);
  });
});

describe('cache metadata log: segments and replay plan', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Appends records seq from..to through a WalLog with small segments; resolves when synced. */
  async function append(log: WalLog, from: number, to: number, durable: number, size = 300): Promise<void> {
    const waits: Array<Promise<void>> = [];
    for (let seq = from; seq <= to; seq++) {
      const p = log.append(seq, seq - 1, Buffer.alloc(size, seq & 0xff), durable);
      assert.ok(p, `record ${seq} could be logged`);
      waits.push(p);
    }
    await Promise.all(waits);
  }

  it('records spanning segment rotations replay in order from any point', async () => {
    const segBytes = 4096;
    const pool = SegmentPool.openSync(path.join(dir, 'wal'), segBytes);
    for (let i = 0; i < 12; i++) assert.ok(pool.addSync());
    const log = new WalLog(pool, 1, quietLog);
    // ~12 records per segment: 100 records use 9 segments.
    await append(log, 1, 100, 0);
    const reopened = SegmentPool.openSync(path.join(dir, 'wal'), segBytes);
    assert.ok(reopened.segments.filter((s) => s.header).length >= 9);
    const all = planReplay(reopened, 0);
    assert.deepEqual(all.records.map((r) => r.seq), Array.from({ length: 100 }, (_, i) => i + 1));
    assert.equal(all.gap, undefined);
    assert.equal(all.maxSeenSeq, 100);
    const tail = planReplay(reopened, 57);
    assert.deepEqual(tail.records.map((r) => r.seq), Array.from({ length: 43 }, (_, i) => i + 58));
    assert.ok(all.records.every((r) => r.payload.length === 300 && r.payload[0] === (r.seq & 0xff)));
    await pool.close();
    await reopened.close();
  });

  it('recycles only segments a checkpoint covers, and a recycled segment replays only its new records', async () => {
    const segBytes = 4096;
    const pool = SegmentPool.openSync(path.join(dir, 'wal'), segBytes);
    assert.ok(pool.addSync());
    assert.ok(pool.addSync());
    const log = new WalLog(pool, 1, quietLog);
    await append(log, 1, 20, 0); // fills segment A, starts B
    // Nothing is durable through a checkpoint yet: A cannot be reused, so B filling up starves.
    const waits: Array<Promise<void> | undefined> = [];
    let seq = 21;
    for (; seq <= 40; seq++) {
      const p = log.append(seq, seq - 1, Buffer.alloc(300), 0);
      waits.push(p);
      if (!p) break;
    }
    assert.ok(seq <= 40 && log.starved, 'the log reports it needs a checkpoint');
    await Promise.all(waits.filter(Boolean));
    // A checkpoint covers everything so far: A is reused for what follows.
    await append(log, seq, seq + 5, seq - 1);
    const plan = planReplay(SegmentPool.openSync(path.join(dir, 'wal'), segBytes), seq - 1);
    assert.deepEqual(plan.records.map((r) => r.seq), [seq, seq + 1, seq + 2, seq + 3, seq + 4, seq + 5]);
    await pool.close();
  });

  it('[error] a record missing from the chain ends the replay: nothing after a gap is applied', async () => {
    const pool = SegmentPool.openSync(path.join(dir, 'wal'), 8192);
    assert.ok(pool.addSync());
    const log = new WalLog(pool, 1, quietLog);
    await append(log, 1, 3, 0);
    // seq 4 was committed but never logged (its append failed): 5 and 6 must not be replayed
    // on a database that stands at 3.
    await Promise.all([log.append(5, 4, Buffer.from('x'), 0)!, log.append(6, 5, Buffer.from('y'), 0)!]);
    const plan = planReplay(SegmentPool.openSync(path.join(dir, 'wal'), 8192), 0);
    assert.deepEqual(plan.records.map((r) => r.seq), [1, 2, 3]);
    assert.deepEqual(plan.gap, { seq: 5, prev: 4, expected: 3 });
    assert.equal(plan.maxSeenSeq, 6, 'new seqs start above every seq ever written');
    // A database that got 4 through a checkpoint continues with 5 and 6.
    assert.deepEqual(planReplay(SegmentPool.openSync(path.join(dir, 'wal'), 8192), 4).records.map((r) => r.seq), [5, 6]);
    await pool.close();
  });

  it('[error] a record too large for any segment is refused (the caller checkpoints instead)', () => {
    const pool = SegmentPool.openSync(path.join(dir, 'wal'), 4096);
    assert.ok(pool.addSync());
    const log = new WalLog(pool, 1, quietLog);
    assert.equal(log.append(1, 0, randomBytes(4096 - SEGMENT_HEADER_BYTES - RECORD_HEADER_BYTES + 1), 0), undefined);
    void pool.close();
  });
});
