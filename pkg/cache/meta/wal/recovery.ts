// Which log records a start-up must replay.
//
// The database stands at walSeq S (the seq of the last transaction it holds). Segments are read
// in activation order (segNo); within each, the intact records of that activation
// (format.ts readRecords). A record with seq <= S is already in the database. A record with
// seq > S is replayed only if its `prev` is exactly S - it is the transaction that was committed
// right after the database's state - and S moves to its seq. The first record that does not
// continue the chain ends the replay: everything after it was built on a state the log cannot
// reproduce. Transactions that were acknowledged always chain (engine.ts acknowledges in
// commit order, each only once it and everything before it is durable), so the replay never
// stops short of an acknowledged one.
import { readRecords, SEGMENT_HEADER_BYTES, type WalRecord } from './format';
import type { SegmentPool } from './segments';

export interface ReplayPlan {
  /** Records to apply, in order. */
  records: WalRecord[];
  /** Highest seq seen in any intact record, replayed or not: new seqs must start above it. */
  maxSeenSeq: number;
  /** Highest segNo in any header: new activations must number above it. */
  maxSegNo: number;
  /** Why the replay stopped before the end of the readable log, if it did. */
  gap?: { seq: number; prev: number; expected: number };
}

export function planReplay(pool: SegmentPool, walSeq: number): ReplayPlan {
  const plan: ReplayPlan = { records: [], maxSeenSeq: walSeq, maxSegNo: 0 };
  const segs = pool.segments.filter((s) => s.header !== undefined).sort((a, b) => a.header!.segNo - b.header!.segNo);
  let at = walSeq;
  for (const seg of segs) {
    plan.maxSegNo = Math.max(plan.maxSegNo, seg.header!.segNo);
    const records = readRecords(pool.readAllSync(seg), SEGMENT_HEADER_BYTES, seg.header!.nonce);
    for (const r of records) {
      plan.maxSeenSeq = Math.max(plan.maxSeenSeq, r.seq);
      if (plan.gap || r.seq <= at) continue;
      if (r.prev !== at) {
        plan.gap = { seq: r.seq, prev: r.prev, expected: at };
        continue;
      }
      plan.records.push(r);
      at = r.seq;
    }
  }
  return plan;
}
