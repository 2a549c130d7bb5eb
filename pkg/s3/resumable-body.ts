// A GET body that survives a connection reset: when the stream fails with a retryable error
// part-way, the rest is fetched again with a ranged GET pinned to the same ETag (If-Match), so
// a long sequential read of a large object does not restart from zero, and a changed object
// surfaces as PreconditionFailedError instead of a silent mix of two versions.
import { Readable } from 'node:stream';
import { classifyFailure } from './retry';

export interface ResumeOptions {
  /** First and last (inclusive) byte offsets the caller asked for. */
  start: number;
  end: number;
  etag: string;
  maxResumes: number;
  /** Opens the remaining bytes [start, end] of the same version. */
  reopen(start: number, end: number, etag: string): Promise<Readable>;
  onResume?(offset: number, err: unknown): void;
}

export function resumableBody(first: Readable, opts: ResumeOptions): Readable {
  let body = first;
  async function* chunks(): AsyncGenerator<Buffer> {
    let pos = opts.start;
    let resumes = 0;
    for (;;) {
      try {
        for await (const chunk of body) {
          const buf = chunk as Buffer;
          pos += buf.length;
          yield buf;
        }
        if (pos === opts.end + 1) return;
        throw Object.assign(new Error(`body ended at ${pos}, expected ${opts.end + 1}`), { code: 'ECONNRESET' });
      } catch (err) {
        body.destroy();
        if (classifyFailure(err) === 'fatal' || ++resumes > opts.maxResumes) throw err;
        opts.onResume?.(pos, err);
        body = await opts.reopen(pos, opts.end, opts.etag);
      }
    }
  }
  const outer = Readable.from(chunks(), { objectMode: false });
  // Destroyed before or while reading: the inner body holds a socket and a concurrency slot.
  outer.once('close', () => body.destroy());
  return outer;
}
