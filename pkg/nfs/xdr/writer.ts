// XDR encoding (RFC 4506) into a growable buffer. Large payloads (READ data) can be attached
// without copying: `tail()` lets the caller send a header buffer plus the data buffer.

const INITIAL = 512;
const ZERO_PAD = Buffer.alloc(4);

export class XdrWriter {
  private buf: Buffer;
  private pos = 0;
  /** Buffers appended by reference after the encoded bytes (see opaqueRef). */
  private refs: Buffer[] = [];
  /** Called once the message has been sent (see opaqueRef). */
  private sentHooks: Array<() => void> = [];

  constructor(initialSize = INITIAL) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get length(): number {
    let n = this.pos;
    for (const r of this.refs) n += r.length;
    return n;
  }

  private ensure(bytes: number): void {
    if (this.refs.length > 0) throw new Error('XdrWriter: cannot encode after a by-reference opaque');
    if (this.pos + bytes <= this.buf.length) return;
    // Grows fourfold: a 32 KiB READDIRPLUS reply from the 512-byte start copies ~10 KiB on the
    // way instead of ~32 KiB (profiled).
    let size = this.buf.length * 4;
    while (size < this.pos + bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  // uint32 and int32 store the bytes themselves: Buffer.writeUInt32BE re-checks range and
  // offset on every call, and a fattr3 is twenty-odd words (a READDIRPLUS reply thousands).
  // Byte stores wrap exactly as the `>>> 0` / `| 0` conversions did.
  uint32(v: number): this {
    this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    const u = v >>> 0;
    b[p] = u >>> 24;
    b[p + 1] = u >>> 16;
    b[p + 2] = u >>> 8;
    b[p + 3] = u;
    this.pos = p + 4;
    return this;
  }

  int32(v: number): this {
    return this.uint32(v | 0);
  }

  uint64(v: bigint | number): this {
    this.ensure(8);
    this.buf.writeBigUInt64BE(typeof v === 'bigint' ? v : BigInt(Math.max(0, Math.floor(v))), this.pos);
    this.pos += 8;
    return this;
  }

  bool(v: boolean): this {
    return this.uint32(v ? 1 : 0);
  }

  fixedOpaque(data: Buffer): this {
    const padded = (data.length + 3) & ~3;
    this.ensure(padded);
    data.copy(this.buf, this.pos);
    this.buf.fill(0, this.pos + data.length, this.pos + padded);
    this.pos += padded;
    return this;
  }

  opaque(data: Buffer): this {
    this.uint32(data.length);
    return this.fixedOpaque(data);
  }

  string(s: string): this {
    return this.opaque(Buffer.from(s, 'utf8'));
  }

  /**
   * Appends a variable-length opaque by reference, without copying (for READ replies).
   * It must be the last thing encoded: the writer refuses further encoding afterwards.
   * `onSent`, if given, is for whoever sends the message to call once `data` is no longer
   * needed (the owner may then reuse the buffer); see sentHook().
   */
  opaqueRef(data: Buffer, onSent?: () => void): this {
    this.uint32(data.length);
    this.refs.push(data);
    if (onSent) this.sentHooks.push(onSent);
    const pad = (4 - (data.length & 3)) & 3;
    if (pad) this.refs.push(ZERO_PAD.subarray(0, pad));
    return this;
  }

  optional<T>(value: T | undefined, write: (v: T) => void): this {
    if (value === undefined) return this.bool(false);
    this.bool(true);
    write(value);
    return this;
  }

  /** The encoded bytes as a list of buffers (no copy of by-reference data). */
  chunks(): Buffer[] {
    return [this.buf.subarray(0, this.pos), ...this.refs];
  }

  /** What to call once the chunks have been sent, if anything (see opaqueRef). */
  sentHook(): (() => void) | undefined {
    const hooks = this.sentHooks;
    if (hooks.length === 0) return undefined;
    return () => {
      for (const h of hooks) h();
    };
  }

  /** The encoded bytes as one buffer (copies by-reference data). */
  toBuffer(): Buffer {
    return this.refs.length === 0 ? this.buf.subarray(0, this.pos) : Buffer.concat(this.chunks());
  }
}
