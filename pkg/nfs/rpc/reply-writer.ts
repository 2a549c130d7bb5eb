// Sends a connection's replies in batches. Each socket write is a writev system call, and on
// loopback or a tap device that call also carries the packet through the TCP stack: profiles
// of 16 GETATTRs in flight showed a third of the server's CPU in writev with one write per
// reply. Calls that arrive together (one TCP segment holding many records, which is how the
// Linux client pipelines) finish in the same turn of the event loop, so their replies are
// queued and written together once that turn's promise callbacks have all run
// (process.nextTick from inside a promise callback runs after the microtask queue drains).
//
// Small pieces (record marks, headers, attributes) are copied into one buffer; large ones
// (READ payloads) are passed by reference, so a 1 MiB READ is still never copied.
import type { Socket } from 'node:net';
import { LAST_FRAGMENT, MAX_FRAGMENT_BYTES } from './record';

/** Pieces at least this large are written by reference instead of being copied. */
const COPY_LIMIT = 16 * 1024;

export class ReplyWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** afterSend callbacks of the pending messages. */
  private hooks: Array<() => void> = [];
  private scheduled = false;

  constructor(private readonly socket: Socket) {}

  /** Bytes queued and not yet handed to the socket. */
  get queuedBytes(): number {
    return this.pendingBytes;
  }

  /**
   * Queues one reply message (framed here as a single last fragment). `afterSend` is called
   * once the socket no longer needs the message's buffers (written, or never to be).
   */
  send(message: readonly Buffer[], afterSend?: () => void): void {
    let total = 0;
    for (const c of message) total += c.length;
    if (total > MAX_FRAGMENT_BYTES) throw new RangeError(`message of ${total} bytes does not fit one fragment`);
    const mark = Buffer.allocUnsafe(4);
    mark.writeUInt32BE((LAST_FRAGMENT | total) >>> 0, 0);
    this.pending.push(mark);
    for (const c of message) if (c.length > 0) this.pending.push(c);
    this.pendingBytes += 4 + total;
    if (afterSend) this.hooks.push(afterSend);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  /** Writes everything queued now (also before the connection ends or is destroyed). */
  flush(): void {
    this.scheduled = false;
    const pieces = this.pending;
    if (pieces.length === 0) return;
    this.pending = [];
    this.pendingBytes = 0;
    const hooks = this.hooks;
    this.hooks = [];
    const done = hooks.length === 0 ? undefined : () => runAll(hooks);
    if (!this.socket.writable) {
      done?.();
      return;
    }
    const out = coalesce(pieces);
    if (out.length === 1) {
      this.socket.write(out[0]!, done);
      return;
    }
    // One writev for all of them; the last write's callback comes after the whole writev.
    this.socket.cork();
    for (let i = 0; i < out.length; i++) this.socket.write(out[i]!, i === out.length - 1 ? done : undefined);
    this.socket.uncork();
  }
}

function runAll(hooks: Array<() => void>): void {
  for (const h of hooks) h();
}

/** Joins each run of small pieces into one buffer; large pieces stay as they are. */
function coalesce(pieces: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let run: Buffer[] = [];
  let runBytes = 0;
  const endRun = (): void => {
    if (run.length === 0) return;
    out.push(run.length === 1 ? run[0]! : Buffer.concat(run, runBytes));
    run = [];
    runBytes = 0;
  };
  for (const p of pieces) {
    if (p.length >= COPY_LIMIT) {
      endRun();
      out.push(p);
    } else {
      run.push(p);
      runBytes += p.length;
    }
  }
  endRun();
  return out;
}
