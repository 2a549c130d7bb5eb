// Buffers for large reads, reused instead of allocated per READ.
//
// A sequential reader through NFS asks for 1 MiB per READ. A fresh 1 MiB buffer each time is
// memory outside V8's heap that the garbage collector must chase: ~12% of the event loop's time
// during a 256 MiB sequential read in the kernel-client bench, on top of the socket writes.
// With these buffers given back once the reply is on its way (ReadResult.release), the same
// bench read 295-308 MiB/s against 263-275 (three runs each, alternating).
//
// A buffer is lent for one read and must not be touched by the borrower after release(); a
// borrower that never releases only costs the pool that buffer (the GC takes it).

/** Reads at least this large borrow a pooled buffer; smaller ones use Node's own slab pool. */
export const POOLED_READ_MIN = 64 * 1024;

export interface Lease {
  data: Buffer;
  /** Gives the buffer back; later calls do nothing. */
  release(): void;
}

export class ReadBuffers {
  private readonly free: Buffer[] = [];

  /**
   * @param size   bytes per buffer: the largest read served from the pool
   * @param keep   free buffers kept at most (the rest are left to the GC)
   */
  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  /** A buffer of exactly `length` bytes (at most `size`), contents undefined. */
  lend(length: number): Lease {
    if (length > this.size) throw new RangeError(`read of ${length} bytes is larger than the pooled ${this.size}`);
    const whole = this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
    let lent = true;
    return {
      data: whole.subarray(0, length),
      release: () => {
        if (!lent) return;
        lent = false;
        if (this.free.length < this.keep) this.free.push(whole);
      },
    };
  }

  get freeCount(): number {
    return this.free.length;
  }
}
