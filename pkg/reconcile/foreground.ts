// Directory listings in flight now: what a client's `ls` or first LOOKUP in a directory waits
// for. Long background runs (a directory move's copies, deletion checks) drop to a couple of
// requests in flight while there are any, so that on a server that queues (a busy gateway) the
// listing is not served after tens of the move's requests: an `ls` during a move of thousands
// of objects takes a few round trips, not a queue's worth. HEADs and reads of file data are not
// counted: the source cannot tell a client's from the import queue's or a prefetch's, and
// thousands of those would hold a move at 2 requests in flight for their whole duration.

export class Foreground {
  private active = 0;

  get busy(): boolean {
    return this.active > 0;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
    }
  }
}
