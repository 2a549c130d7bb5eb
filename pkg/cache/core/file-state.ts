// Per-file state of the data path, kept only while a file is in use: its readers-writer lock,
// whether its dirty mark is in LMDB, and counts that let COMMIT tell whether every write it
// covers has reached the disk.
import { RwLock } from '../util/rw-lock';

export class FileState {
  readonly lock = new RwLock();
  /**
   * The durable "dirty" mark of this inode (set before the first write after a commit, so
   * that a crash at any later point is noticed on restart). Undefined when not marked.
   */
  marking: Promise<void> | undefined;
  /** Writes begun so far (stable or not). */
  writesStarted = 0;
  /** Writes currently between their start and their data reaching the data file. */
  inflight = 0;
  /** performance.now() of the last write, to sync files that have gone quiet. */
  lastWrite = 0;

  get idle(): boolean {
    return this.lock.idle && this.inflight === 0 && this.marking === undefined;
  }
}

export class FileStates {
  private readonly states = new Map<number, FileState>();

  get(ino: number): FileState {
    let st = this.states.get(ino);
    if (!st) {
      st = new FileState();
      this.states.set(ino, st);
    }
    return st;
  }

  peek(ino: number): FileState | undefined {
    return this.states.get(ino);
  }

  entries(): IterableIterator<[number, FileState]> {
    return this.states.entries();
  }

  delete(ino: number): void {
    this.states.delete(ino);
  }

  /** Forgets states of files nobody is using. */
  prune(): void {
    for (const [ino, st] of this.states) if (st.idle) this.states.delete(ino);
  }
}
