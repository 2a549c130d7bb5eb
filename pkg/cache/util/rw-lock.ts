// A readers-writer lock per file: reads and writes of data share it (concurrent writes at
// different offsets all proceed), truncation and freeing the data file take it alone. Writers
// are queued in order and a waiting writer holds back new readers, so a truncate is not
// starved by a stream of writes.

type Waiter = { exclusive: boolean; wake: () => void };

export class RwLock {
  private readers = 0;
  private writer = false;
  private readonly queue: Waiter[] = [];

  get idle(): boolean {
    return this.readers === 0 && !this.writer && this.queue.length === 0;
  }

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    if (this.writer || this.queue.length > 0) await this.wait(false);
    else this.readers++;
    try {
      return await fn();
    } finally {
      this.readers--;
      this.drain();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.writer || this.readers > 0 || this.queue.length > 0) await this.wait(true);
    else this.writer = true;
    try {
      return await fn();
    } finally {
      this.writer = false;
      this.drain();
    }
  }

  /** Waits in the queue; drain() takes the lock on the waiter's behalf before waking it. */
  private wait(exclusive: boolean): Promise<void> {
    return new Promise((wake) => this.queue.push({ exclusive, wake }));
  }

  private drain(): void {
    while (this.queue.length > 0 && !this.writer) {
      const next = this.queue[0]!;
      if (next.exclusive) {
        if (this.readers > 0) return;
        this.writer = true;
      } else {
        this.readers++;
      }
      this.queue.shift();
      next.wake();
    }
  }
}
