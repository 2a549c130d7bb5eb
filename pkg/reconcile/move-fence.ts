// Keeps jobs out of the prefixes of a directory move while it runs, and nothing else: a move
// of `from` to `to` waits for the running jobs that hold a key under either prefix, then runs
// while new jobs on such keys are turned away (they are tried again later); uploads, deletions
// and listings everywhere else go on. Two moves whose prefixes nest (or are equal) run one after
// the other. Listings are never held: the source hides a moving directory's old and new names
// from the listings of their parents instead (hides()), so neither shows as a ghost.

interface Move {
  from: string;
  to: string;
}

export class MoveFence {
  private readonly moves = new Set<Move>();
  /** Keys held by running jobs (a count per key: a tombstone batch and an upload may share one). */
  private readonly held = new Map<string, number>();
  private waiters: Array<() => void> = [];
  private readonly endListeners = new Set<() => void>();

  /** Is `key` under the old or new prefix of a move in progress? */
  blocks(key: string): boolean {
    for (const m of this.moves) if (key.startsWith(m.from) || key.startsWith(m.to)) return true;
    return false;
  }

  /** Is the directory key `prefix` the old or new name of a move in progress? */
  hides(prefix: string): boolean {
    for (const m of this.moves) if (prefix === m.from || prefix === m.to) return true;
    return false;
  }

  get moving(): number {
    return this.moves.size;
  }

  /**
   * Calls `fn` each time a move ends: jobs it turned away can be tried again then (polling
   * for it instead costs a job per fenced inode per poll, thousands during a large move).
   * Returns the unsubscribe.
   */
  onMoveEnd(fn: () => void): () => void {
    this.endListeners.add(fn);
    return () => this.endListeners.delete(fn);
  }

  /**
   * Holds `keys` for a job, or returns undefined (holding nothing) if one of them is under a
   * move in progress: the job is to be tried again later.
   */
  tryHold(keys: Array<string | undefined>): (() => void) | undefined {
    const ks = Array.from(new Set(keys.filter((k): k is string => k !== undefined)));
    if (ks.some((k) => this.blocks(k))) return undefined;
    for (const k of ks) this.held.set(k, (this.held.get(k) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const k of ks) {
        const n = (this.held.get(k) ?? 1) - 1;
        if (n <= 0) this.held.delete(k);
        else this.held.set(k, n);
      }
      this.wake();
    };
  }

  /** Holds those of `keys` that are not under a move in progress (a batch of deletions goes on without the others). */
  holdUnfenced(keys: string[]): { held: string[]; release: () => void } {
    const held = keys.filter((k) => !this.blocks(k));
    return { held, release: this.tryHold(held) ?? (() => undefined) };
  }

  /** Runs `fn` with `keys` held, or returns undefined at once if they are fenced off. */
  async withKeys<T>(keys: Array<string | undefined>, fn: () => Promise<T>): Promise<T | undefined> {
    const release = this.tryHold(keys);
    if (!release) return undefined;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Runs the move of `from` to `to` once no other move nests with it and no job holds a key under either. */
  async move<T>(from: string, to: string, fn: () => Promise<T>): Promise<T> {
    const m: Move = { from, to };
    while (Array.from(this.moves).some((o) => nests(o, m))) await this.changed();
    this.moves.add(m);
    try {
      while (Array.from(this.held.keys()).some((k) => k.startsWith(from) || k.startsWith(to))) await this.changed();
      return await fn();
    } finally {
      this.moves.delete(m);
      this.wake();
      for (const fn of this.endListeners) fn();
    }
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}

function nests(a: Move, b: Move): boolean {
  for (const p of [a.from, a.to]) for (const q of [b.from, b.to]) if (p.startsWith(q) || q.startsWith(p)) return true;
  return false;
}
