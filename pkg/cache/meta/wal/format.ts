// On-disk framing of the metadata redo log (see engine.ts for what the log is for).
//
// A segment is a preallocated file: a 64-byte header, then records back to back, then whatever
// the file held before (zeros when new, older records when recycled).
//
//   header  magic "S3FWAL01" | segNo u48 (+2 zero bytes) | nonce 8 bytes | crc32 of the 24 bytes
//   record  length u32 | crc32 u32 | seq u48 (+2) | prev u48 (+2) | payload (length bytes)
//
// The record's CRC covers the segment's nonce, the length, seq, prev and the payload. The nonce
// is random per activation of a segment file, so records left over from an earlier use of the
// same file (recycling, or a run whose tail a power cut undid) fail the CRC even though their own
// bytes are intact. `prev` is the seq of the transaction committed just before this one: replay
// applies a record only if it continues exactly where the database stands (recovery.ts), so
// a missing record stops the replay instead of being silently skipped over.
import { crc32 } from 'node:zlib';

export const SEGMENT_HEADER_BYTES = 64;
export const RECORD_HEADER_BYTES = 24;
const MAGIC = Buffer.from('S3FWAL01', 'latin1');
/** A record longer than this is refused by the reader: a torn length field, not a record. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export interface SegmentHeader {
  /** Order of activation: replay reads segments by increasing segNo. */
  segNo: number;
  nonce: Buffer;
}

export interface WalRecord {
  seq: number;
  prev: number;
  payload: Buffer;
  /** Offset just past this record in the segment. */
  end: number;
}

export function encodeSegmentHeader(h: SegmentHeader): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  MAGIC.copy(b, 0);
  b.writeUIntLE(h.segNo, 8, 6);
  h.nonce.copy(b, 16, 0, 8);
  b.writeUInt32LE(crc32(b.subarray(0, 24)), 24);
  return b;
}

/** The header at the start of `buf`, or undefined if there is none (new, zeroed or torn). */
export function decodeSegmentHeader(buf: Buffer): SegmentHeader | undefined {
  if (buf.length < SEGMENT_HEADER_BYTES || !buf.subarray(0, 8).equals(MAGIC)) return undefined;
  if (buf.readUInt32LE(24) !== crc32(buf.subarray(0, 24))) return undefined;
  return { segNo: buf.readUIntLE(8, 6), nonce: Buffer.from(buf.subarray(16, 24)) };
}

export function encodeRecord(nonce: Buffer, seq: number, prev: number, payload: Buffer): Buffer {
  const b = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  b.writeUInt32LE(payload.length, 0);
  b.writeUIntLE(seq, 8, 6);
  b.writeUInt16LE(0, 14);
  b.writeUIntLE(prev, 16, 6);
  b.writeUInt16LE(0, 22);
  payload.copy(b, RECORD_HEADER_BYTES);
  b.writeUInt32LE(recordCrc(nonce, b), 4);
  return b;
}

function recordCrc(nonce: Buffer, rec: Buffer): number {
  return crc32(rec.subarray(8), crc32(rec.subarray(0, 4), crc32(nonce)));
}

/**
 * The valid records of a segment body, in order, starting at `start`. Stops at the first place
 * that is not a whole, intact record of this activation: zeroed space, a torn tail, a flipped
 * byte, a stale record of an earlier activation, or a seq that does not increase.
 */
export function readRecords(buf: Buffer, start: number, nonce: Buffer): WalRecord[] {
  const out: WalRecord[] = [];
  let at = start;
  let last = 0;
  while (at + RECORD_HEADER_BYTES <= buf.length) {
    const len = buf.readUInt32LE(at);
    if (len === 0 || len > MAX_RECORD_BYTES) break;
    const end = at + RECORD_HEADER_BYTES + len;
    if (end > buf.length) break;
    const rec = buf.subarray(at, end);
    if (rec.readUInt32LE(4) !== recordCrc(nonce, rec)) break;
    const seq = rec.readUIntLE(8, 6);
    if (seq <= last) break;
    out.push({ seq, prev: rec.readUIntLE(16, 6), payload: rec.subarray(RECORD_HEADER_BYTES), end });
    last = seq;
    at = end;
  }
  return out;
}
