// One async mutex per key: the folder store's conditional writes check-then-rename under it,
// so two writers of the same key in this process cannot both pass an If-Match; the
// reconciler's KeyLocks take several keys of it at once.

export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(key);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Waits for `key`, then holds it until the returned function is called. */
  async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    return () => {
      done();
      // The map holds only keys with waiters or a holder.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}
