// XDR decoding (RFC 4506) over one complete RPC record. Everything is big-endian and padded
// to four bytes; every length read from the wire is checked against the bytes remaining and
// against the caller's limit before anything is allocated.
import { XdrError } from './errors';

export class XdrReader {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    offset = 0,
    private readonly end = buf.length,
  ) {
    this.pos = offset;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(bytes: number): void {
    if (bytes > this.end - this.pos) {
      throw new XdrError(`truncated: need ${bytes} bytes at offset ${this.pos}, have ${this.end - this.pos}`);
    }
  }

  uint32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A uint64 that must fit a JavaScript number exactly (offsets, sizes). */
  uint64Number(): number {
    const v = this.uint64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new XdrError(`uint64 ${v} is beyond 2^53`);
    return Number(v);
  }

  bool(): boolean {
    const v = this.uint32();
    if (v > 1) throw new XdrError(`bool must be 0 or 1, got ${v}`);
    return v === 1;
  }

  /** Reads a discriminant or enum and checks it is one of `allowed`. */
  enumOf<T extends number>(allowed: readonly T[], what: string): T {
    const v = this.uint32() as T;
    if (!allowed.includes(v)) throw new XdrError(`invalid ${what} ${v}`);
    return v;
  }

  /** Fixed-length opaque; returns a view into the record (no copy). */
  fixedOpaque(length: number): Buffer {
    const padded = paddedLength(length);
    this.need(padded);
    const v = this.buf.subarray(this.pos, this.pos + length);
    this.pos += padded;
    return v;
  }

  /** Variable-length opaque of at most `max` bytes; a view into the record (no copy). */
  opaque(max: number): Buffer {
    const length = this.uint32();
    if (length > max) throw new XdrError(`opaque of ${length} bytes exceeds limit ${max}`);
    return this.fixedOpaque(length);
  }

  /** A string of at most `max` bytes, decoded as UTF-8 (invalid sequences are kept lossily). */
  string(max: number): string {
    return this.opaque(max).toString('utf8');
  }

  /** XDR optional-data (`*T`): a bool followed by the value when true. */
  optional<T>(read: () => T): T | undefined {
    return this.bool() ? read() : undefined;
  }

  /** Counted array of at most `max` elements. */
  array<T>(max: number, read: () => T): T[] {
    const n = this.uint32();
    if (n > max) throw new XdrError(`array of ${n} elements exceeds limit ${max}`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(read());
    return out;
  }

  skip(bytes: number): void {
    const padded = paddedLength(bytes);
    this.need(padded);
    this.pos += padded;
  }
}

/**
 * `length` rounded up to a multiple of four. Plain arithmetic, not `(length + 3) & ~3`: the
 * bitwise form wraps to 0 or a negative number for wire lengths of 2^31 - 3 and above.
 */
function paddedLength(length: number): number {
  return length + ((4 - (length % 4)) % 4);
}
