// One async mutex per key: the folder store's conditional writes check-then-rename under it,
// so two writers of the same key in this process cannot both pass an If-Match.

export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      done();
      // The map holds only keys with waiters or a holder.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
