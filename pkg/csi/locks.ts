// Per-volume try-locks (csi-driver-nfs volumeLocks.TryAcquire). A second operation on a volume
// while one is in flight is refused with ABORTED, as the CSI spec asks ("operation pending for
// volume"); the CO retries it. There is no global mutex: calls on different volumes run in
// parallel.
import { aborted } from './errors';

export class VolumeLocks {
  private readonly held = new Set<string>();

  tryAcquire(key: string): boolean {
    if (this.held.has(key)) return false;
    this.held.add(key);
    return true;
  }

  release(key: string): void {
    this.held.delete(key);
  }

  /** Runs `fn` holding the lock for `key`; throws ABORTED if another call holds it. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (!this.tryAcquire(key)) throw aborted(`an operation on ${key} is already in progress`);
    try {
      return await fn();
    } finally {
      this.release(key);
    }
  }
}
