// The reconciler's schedule: job id → when it is due (ms). A tick takes what is due, earliest
// first, in O(log n) each, instead of walking every scheduled job: after a `cp -r` of 100,000
// files the schedule holds them all for the sync delay, and the reconciler ticks ten times a
// second and after every job.
// Deletions ("t:" ids, batched into one DeleteObjects) have a heap of their own, so that a batch
// is found without passing over the files due before it.
// A re-scheduled id leaves its old heap entry behind; entries that no longer match the map are
// skipped when they surface, and the heaps are rebuilt when such entries pile up.

interface Entry {
  at: number;
  seq: number;
  id: string;
}

const isDeletion = (id: string) => id.startsWith('t:');

class Heap {
  private items: Entry[] = [];

  get length(): number {
    return this.items.length;
  }

  peek(): Entry | undefined {
    return this.items[0];
  }

  push(e: Entry): void {
    const a = this.items;
    a.push(e);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): Entry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.items = [];
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

export class DueQueue {
  private readonly due = new Map<string, number>();
  private readonly files = new Heap();
  private readonly deletions = new Heap();
  private seq = 0;

  get size(): number {
    return this.due.size;
  }

  has(id: string): boolean {
    return this.due.has(id);
  }

  get(id: string): number | undefined {
    return this.due.get(id);
  }

  keys(): IterableIterator<string> {
    return this.due.keys();
  }

  set(id: string, at: number): void {
    this.due.set(id, at);
    (isDeletion(id) ? this.deletions : this.files).push({ at, seq: this.seq++, id });
    if (this.files.length + this.deletions.length > 2 * this.due.size + 1024) this.rebuild();
  }

  delete(id: string): boolean {
    return this.due.delete(id);
  }

  /**
   * Takes (removes) the job due earliest at `now` or before, a deletion only if `deletionsOnly`;
   * undefined if nothing is due.
   */
  take(now: number, deletionsOnly = false): { id: string; at: number } | undefined {
    const f = deletionsOnly ? undefined : this.live(this.files);
    const d = this.live(this.deletions);
    const heap = f && (!d || before(f, d)) ? this.files : d ? this.deletions : undefined;
    const top = heap?.peek();
    if (!heap || !top || top.at > now) return undefined;
    heap.pop();
    this.due.delete(top.id);
    return { id: top.id, at: top.at };
  }

  /** The heap's first entry that still matches the schedule (stale ones dropped). */
  private live(heap: Heap): Entry | undefined {
    for (let e = heap.peek(); e; e = heap.peek()) {
      if (this.due.get(e.id) === e.at) return e;
      heap.pop();
    }
    return undefined;
  }

  private rebuild(): void {
    this.files.clear();
    this.deletions.clear();
    for (const [id, at] of this.due) (isDeletion(id) ? this.deletions : this.files).push({ at, seq: this.seq++, id });
  }
}
