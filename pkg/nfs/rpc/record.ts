// Record marking for ONC RPC over TCP (RFC 5531 §11). A record is one or more fragments,
// each preceded by a 4-byte big-endian mark: the high bit says "last fragment", the low 31
// bits give the fragment's length.
//
// The decoder keeps the socket's chunks by reference and copies each record's bytes at most
// once: a record that lies inside one chunk is returned as a view of it, and a record spread
// over several chunks (a 1 MiB WRITE arrives in dozens) is joined with one Buffer.concat.
// Everything it holds is bounded by the maximum record size, which is checked against every
// fragment mark before the fragment's bytes are waited for.
import { RecordError } from './errors';

export const LAST_FRAGMENT = 0x80000000;
export const MAX_FRAGMENT_BYTES = 0x7fffffff;
/** A 1 MiB WRITE or READ plus its RPC and NFS headers, with room to spare. */
export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024 + 128 * 1024;
/**
 * Real clients send one fragment per record. Without a cap, a record sent as a million
 * 1-byte fragments would cost a million Buffer views (~100 MB) while staying under the
 * byte limit.
 */
export const MAX_FRAGMENTS_PER_RECORD = 1024;

const MARK_BYTES = 4;
const READING_MARK = -1;
/**
 * A record normally arrives as a few large chunks, kept by reference. Once a record has
 * this many pieces, pieces smaller than SMALL_PIECE are copied into a staging buffer, so a
 * peer trickling bytes one TCP segment at a time cannot make us hold a view per byte.
 */
const MANY_PARTS = 16;
const SMALL_PIECE = 4096;
const STAGING_BYTES = 16384;

export class RecordDecoder {
  /** Received chunks not yet consumed; `headOffset` bytes of the first are consumed. */
  private readonly queue: Buffer[] = [];
  private headOffset = 0;
  private queued = 0;
  /** Bytes of the current fragment still to read, or READING_MARK between fragments. */
  private fragmentLeft = READING_MARK;
  private lastFragment = false;
  /** Pieces of the record being assembled (views into received chunks). */
  private parts: Buffer[] = [];
  private recordBytes = 0;
  private fragments = 0;
  private staging: Buffer | undefined;
  private stagingUsed = 0;

  constructor(readonly maxRecordBytes = DEFAULT_MAX_RECORD_BYTES) {
    if (!Number.isInteger(maxRecordBytes) || maxRecordBytes < 1 || maxRecordBytes > MAX_FRAGMENT_BYTES) {
      throw new RangeError(`maxRecordBytes must be an integer in [1, ${MAX_FRAGMENT_BYTES}], got ${maxRecordBytes}`);
    }
  }

  /** Bytes received and not yet returned in a record. */
  get bufferedBytes(): number {
    return this.queued + this.recordBytes;
  }

  /** Adds bytes read from the socket; call next() until it returns undefined. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
  }

  /**
   * The next complete record, or undefined when more bytes are needed. Throws RecordError
   * when the stream breaks the limits; the decoder (and the connection) are unusable then.
   */
  next(): Buffer | undefined {
    for (;;) {
      if (this.fragmentLeft === READING_MARK) {
        if (this.queued < MARK_BYTES) return undefined;
        this.startFragment(this.readMark());
      }
      this.takeFragmentBytes();
      if (this.fragmentLeft > 0) return undefined;
      this.fragmentLeft = READING_MARK;
      if (this.lastFragment) return this.finishRecord();
    }
  }

  private startFragment(mark: number): void {
    const length = mark & MAX_FRAGMENT_BYTES;
    this.lastFragment = (mark & LAST_FRAGMENT) !== 0;
    if (length > this.maxRecordBytes - this.recordBytes) {
      throw new RecordError(
        'too-large',
        `record of at least ${this.recordBytes + length} bytes exceeds the limit of ${this.maxRecordBytes}`,
      );
    }
    if (++this.fragments > MAX_FRAGMENTS_PER_RECORD) {
      throw new RecordError('too-many-fragments', `record has more than ${MAX_FRAGMENTS_PER_RECORD} fragments`);
    }
    this.fragmentLeft = length;
  }

  /** Moves as much of the current fragment as has arrived from the queue into `parts`. */
  private takeFragmentBytes(): void {
    while (this.fragmentLeft > 0 && this.queued > 0) {
      const head = this.queue[0]!;
      const available = head.length - this.headOffset;
      const n = Math.min(available, this.fragmentLeft);
      this.addPiece(head.subarray(this.headOffset, this.headOffset + n));
      this.recordBytes += n;
      this.fragmentLeft -= n;
      this.consume(n, available);
    }
  }

  private addPiece(piece: Buffer): void {
    if (this.parts.length < MANY_PARTS || piece.length >= SMALL_PIECE) {
      this.flushStaging();
      this.parts.push(piece);
      return;
    }
    if (!this.staging || this.stagingUsed + piece.length > this.staging.length) {
      this.flushStaging();
      this.staging = Buffer.allocUnsafe(STAGING_BYTES);
    }
    piece.copy(this.staging, this.stagingUsed);
    this.stagingUsed += piece.length;
  }

  private flushStaging(): void {
    if (this.staging && this.stagingUsed > 0) this.parts.push(this.staging.subarray(0, this.stagingUsed));
    this.staging = undefined;
    this.stagingUsed = 0;
  }

  /** Reads a fragment mark that may straddle chunk boundaries. */
  private readMark(): number {
    const head = this.queue[0]!;
    const available = head.length - this.headOffset;
    if (available >= MARK_BYTES) {
      const mark = head.readUInt32BE(this.headOffset);
      this.consume(MARK_BYTES, available);
      return mark;
    }
    let mark = 0;
    for (let i = 0; i < MARK_BYTES; i++) {
      const chunk = this.queue[0]!;
      mark = mark * 256 + chunk[this.headOffset]!;
      this.consume(1, chunk.length - this.headOffset);
    }
    return mark;
  }

  private consume(n: number, availableInHead: number): void {
    this.queued -= n;
    if (n === availableInHead) {
      this.queue.shift();
      this.headOffset = 0;
    } else {
      this.headOffset += n;
    }
  }

  private finishRecord(): Buffer {
    this.flushStaging();
    const { parts, recordBytes } = this;
    const record = parts.length === 1 ? parts[0]! : parts.length === 0 ? Buffer.alloc(0) : Buffer.concat(parts, recordBytes);
    this.parts = [];
    this.recordBytes = 0;
    this.fragments = 0;
    return record;
  }
}

/**
 * Frames one message as a single last fragment: a 4-byte mark followed by the message's
 * chunks, which are not copied (write them with writev or cork/uncork).
 */
export function frameRecord(message: readonly Buffer[]): Buffer[] {
  let total = 0;
  for (const c of message) total += c.length;
  if (total > MAX_FRAGMENT_BYTES) throw new RangeError(`message of ${total} bytes does not fit one fragment`);
  const mark = Buffer.allocUnsafe(MARK_BYTES);
  mark.writeUInt32BE((LAST_FRAGMENT | total) >>> 0, 0);
  return [mark, ...message];
}
