// One cache size for several caches on the same disk (the CSI node's volumes): when their
// cached file data adds up to more than the budget, each is asked to shed in proportion to what
// it holds (its limit becomes its share of the budget), so clean data is evicted across
// volumes, and a node with many volumes cannot fill its disk with clean cache. Dirty data is
// never evicted: a volume that cannot shed leaves the others to shed more at the next check.

export interface BudgetMember {
  /** The most cached file data this cache may keep now (unlimited while the total fits). */
  limit(): number;
  leave(): void;
}

export class SharedCacheBudget {
  private readonly members = new Set<() => number>();

  constructor(readonly totalBytes: number) {
    if (!Number.isFinite(totalBytes) || totalBytes < 0) throw new RangeError(`cache budget ${totalBytes} must be a non-negative number of bytes`);
  }

  /** `used` reports the bytes of file data the cache holds now. */
  join(used: () => number): BudgetMember {
    this.members.add(used);
    return {
      limit: () => {
        const total = this.usedBytes();
        if (total <= this.totalBytes) return Number.MAX_SAFE_INTEGER;
        return Math.floor((used() * this.totalBytes) / total);
      },
      leave: () => void this.members.delete(used),
    };
  }

  /** Cached file data of every member. */
  usedBytes(): number {
    let total = 0;
    for (const used of this.members) total += used();
    return total;
  }
}
