// Bandwidth caps for the shaped S3 link: a token bucket kept as a virtual clock. Each chunk
// reserves its transmission time on the clock (bytes / rate after the previous chunk, with a
// small burst allowance) and is let through when that time comes. Because the clock, not the
// timer's wake-up, decides, timer lateness does not lower the average rate: it only delays
// single chunks.
import { Transform, type TransformCallback } from 'node:stream';

export class Pacer {
  /** Time (performance.now() ms) at which everything reserved so far has been sent at the full rate (GCRA's theoretical arrival time). */
  private clock = 0;

  constructor(
    readonly bytesPerSec: number,
    /** Bytes that may pass at once after an idle moment (the bucket's depth). */
    private readonly burstBytes = 16 * 1024,
  ) {
    if (!(bytesPerSec > 0)) throw new Error(`a pacer needs a positive rate, got ${bytesPerSec}`);
  }

  /** Reserves `n` bytes; returns the time at which they have passed. */
  reserve(n: number, now = performance.now()): number {
    const burstMs = (this.burstBytes / this.bytesPerSec) * 1000;
    this.clock = Math.max(this.clock, now) + (n / this.bytesPerSec) * 1000;
    return this.clock - burstMs;
  }
}

/** Splits chunks so one reservation never exceeds this (keeps the pacing smooth). */
const SLICE = 16 * 1024;

/**
 * A stream stage that lets bytes through no faster than every pacer given (e.g. the
 * connection's own and the link's total), and reports each chunk as it passes.
 */
export class PacedStream extends Transform {
  constructor(private readonly pacers: Pacer[], private readonly onBytes: (n: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.pacers.length === 0) {
      this.onBytes(chunk.length);
      done(null, chunk);
      return;
    }
    this.passSlices(chunk, 0, done);
  }

  private passSlices(chunk: Buffer, offset: number, done: TransformCallback): void {
    if (offset >= chunk.length) {
      done();
      return;
    }
    const slice = chunk.subarray(offset, offset + SLICE);
    const now = performance.now();
    let at = now;
    for (const p of this.pacers) at = Math.max(at, p.reserve(slice.length, now));
    const send = () => {
      this.onBytes(slice.length);
      this.push(slice);
      this.passSlices(chunk, offset + slice.length, done);
    };
    // Under a millisecond late is below the timer's resolution: send now, the clock keeps the rate.
    if (at - now < 1) send();
    else setTimeout(send, at - now);
  }
}
