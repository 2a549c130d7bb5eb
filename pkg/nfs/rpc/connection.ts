// One client TCP connection: records in, replies out. Each record is dispatched as soon as it
// is complete, without waiting for earlier ones (the Linux client keeps many calls in flight
// on one connection and matches replies by xid), so replies go out in completion order;
// replies finished in the same event-loop turn share one socket write (reply-writer.ts).
//
// Flow control, so that memory stays bounded whatever the peer does:
// - at most `maxInFlight` calls run at once; past that the socket is paused and records
//   already received stay undecoded in the record decoder;
// - reply memory: a call starts only once the memory its reply may take is reserved, within
//   the connection's share and the server's total (reply-budget.ts); it is given back as the
//   socket hands replies to the kernel, so a peer that sends but does not read stops being
//   read once its share is full;
// - while the socket's write buffer is above its high-water mark, no new calls start either.
// The server's sweep (server.ts) closes connections that are idle, trickle a record, or leave
// their replies unread for too long: reapReason() says which.
import type { Socket } from 'node:net';
import type { Logger } from '../../log/logger';
import { describeError } from '../../log/logger';
import type { DispatchOutcome, Dispatcher, Peer } from './dispatch';
import { RecordDecoder } from './record';
import type { ReplyBudget } from './reply-budget';
import { ReplyWriter } from './reply-writer';

export interface ConnectionLimits {
  /** Reply memory one connection may hold (reserved for running calls, or unwritten). */
  maxReplyBytes: number;
  /** A connection with nothing to do for this long is closed (the client reconnects). */
  idleTimeoutMs: number;
  /** A record must be complete this long after its first bytes arrived. */
  recordTimeoutMs: number;
  /** Replies the peer has not read for this long (no write progress) close the connection. */
  replyStallTimeoutMs: number;
}

export interface ConnectionOptions {
  maxRecordBytes: number;
  maxInFlight: number;
  limits: ConnectionLimits;
  budget: ReplyBudget;
  log: Logger;
  /** Registers a running call so that the server's close() can wait for it. */
  track(call: Promise<void>): void;
  now?: () => number;
}

export class RpcConnection {
  private readonly decoder: RecordDecoder;
  private readonly replies: ReplyWriter;
  readonly peer: Peer;
  private readonly now: () => number;
  private inFlight = 0;
  private paused = false;
  private peerEnded = false;
  private closed = false;
  /** A complete record waiting for reply memory. */
  private waiting: { record: Buffer; bound: number } | undefined;
  /** Reply bytes reserved for running calls plus replies not yet handed to the kernel. */
  private held = 0;
  /** Bytes of replies queued and not yet handed to the kernel. */
  private unwritten = 0;
  private lastWriteProgressAt: number;
  private lastActivityAt: number;
  /** When the first bytes of the record being received arrived (undefined: none pending). */
  private recordStartedAt: number | undefined;
  /** When a record last completed: the server evicts the connection where this is oldest. */
  lastRecordAt: number;
  /** Resolves when the socket has closed. */
  readonly done: Promise<void>;
  private readonly retry = (): void => this.pump();

  constructor(
    private readonly socket: Socket,
    private readonly dispatcher: Dispatcher,
    private readonly options: ConnectionOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.lastWriteProgressAt = this.lastActivityAt = this.lastRecordAt = this.now();
    this.decoder = new RecordDecoder(options.maxRecordBytes);
    this.replies = new ReplyWriter(socket);
    this.peer = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    socket.setNoDelay(true);
    // Finds peers that vanished without a FIN (node rebooted), so their sockets get closed.
    socket.setKeepAlive(true, 60_000);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.pump());
    socket.on('end', () => {
      this.peerEnded = true;
      this.pump();
    });
    socket.on('error', (err) => this.options.log.debug('connection error', { ...this.fields(), error: describeError(err) }));
    this.done = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        this.releaseAll();
        resolve();
      }),
    );
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Reply memory this connection holds now. */
  get replyBytesHeld(): number {
    return this.held;
  }

  /** Why the connection should be closed now, or undefined if it is behaving. */
  reapReason(now: number): 'idle' | 'slow-record' | 'replies-not-read' | undefined {
    const l = this.options.limits;
    if (this.unwritten > 0 && now - this.lastWriteProgressAt > l.replyStallTimeoutMs) return 'replies-not-read';
    if (this.recordStartedAt !== undefined && now - this.recordStartedAt > l.recordTimeoutMs) return 'slow-record';
    const quiet = this.inFlight === 0 && this.unwritten === 0 && !this.waiting && this.decoder.bufferedBytes === 0;
    if (quiet && now - this.lastActivityAt > l.idleTimeoutMs) return 'idle';
    return undefined;
  }

  private fields(): Record<string, unknown> {
    return { client: this.peer.address, port: this.peer.port };
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastActivityAt = this.now();
    this.decoder.push(chunk);
    this.pump();
  }

  /** Starts every complete record the limits allow, then pauses or resumes reading. */
  private pump(): void {
    let needMoreBytes = false;
    while (!this.closed && this.inFlight < this.options.maxInFlight && !this.socket.writableNeedDrain) {
      if (!this.waiting) {
        let record: Buffer | undefined;
        try {
          record = this.decoder.next();
        } catch (err) {
          this.options.log.warn('closing connection: bad record', { ...this.fields(), error: describeError(err) });
          this.socket.destroy();
          return;
        }
        if (!record) {
          needMoreBytes = true;
          break;
        }
        this.lastRecordAt = this.now();
        this.recordStartedAt = undefined;
        // A bound past the connection's share could never be reserved: the share caps it.
        this.waiting = { record, bound: Math.min(this.dispatcher.replyBound(record), this.options.limits.maxReplyBytes) };
      }
      if (!this.reserve(this.waiting.bound)) break;
      const { record, bound } = this.waiting;
      this.waiting = undefined;
      this.start(record, bound);
    }
    if (this.closed) return;
    // Only a record the peer is still sending counts against its deadline, not bytes we have
    // stopped reading ourselves.
    if (needMoreBytes && this.decoder.bufferedBytes > 0) this.recordStartedAt ??= this.now();
    else this.recordStartedAt = undefined;
    const mustPause = this.inFlight >= this.options.maxInFlight || this.socket.writableNeedDrain || this.waiting !== undefined;
    if (mustPause && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!mustPause && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    // The peer half-closed and every call it sent has been answered: finish our side too.
    if (this.peerEnded && this.inFlight === 0 && !this.waiting) {
      this.replies.flush();
      this.socket.end();
    }
  }

  /**
   * Reserves reply memory for a call: within this connection's share (one call may always run
   * when the connection holds nothing), then within the server's total.
   */
  private reserve(bound: number): boolean {
    if (this.held > 0 && this.held + bound > this.options.limits.maxReplyBytes) return false; // retried as replies are written
    if (!this.options.budget.tryTake(bound, this.held === 0)) {
      this.options.budget.waitFor(this.retry);
      return false;
    }
    this.held += bound;
    return true;
  }

  private release(n: number): void {
    if (this.closed) return; // releaseAll() gave everything back
    this.held -= n;
    this.options.budget.give(n);
  }

  private releaseAll(): void {
    this.options.budget.cancel(this.retry);
    this.options.budget.give(this.held);
    this.held = 0;
    this.unwritten = 0;
    this.waiting = undefined;
  }

  private start(record: Buffer, bound: number): void {
    this.inFlight++;
    const call = this.dispatcher
      .dispatch(record, this.peer)
      .then((outcome) => this.finish(outcome, bound))
      .catch((err: unknown) => {
        // The dispatcher maps handler failures to replies; reaching here is a bug, and the
        // connection's state can no longer be trusted.
        this.options.log.error('dispatch failed', { ...this.fields(), error: describeError(err) });
        this.socket.destroy();
      });
    this.options.track(call);
  }

  private finish(outcome: DispatchOutcome, bound: number): void {
    this.inFlight--;
    if (this.closed || this.socket.destroyed) {
      this.release(bound);
      return;
    }
    switch (outcome.kind) {
      case 'reply':
        this.queueReply(outcome.message, bound, outcome.afterSend);
        break;
      case 'drop':
        this.release(bound);
        this.options.log.debug('dropped record', { ...this.fields(), reason: outcome.reason });
        break;
      case 'close':
        this.release(bound);
        this.options.log.debug('closing connection', { ...this.fields(), reason: outcome.reason });
        // Replies to the calls before the garbage still go out, as they did when each reply
        // was written as soon as it was ready.
        this.replies.flush();
        this.socket.destroy();
        return;
    }
    this.pump();
  }

  /** The reservation becomes the reply's real size, held until the socket has written it. */
  private queueReply(message: Buffer[], bound: number, afterSend: (() => void) | undefined): void {
    let size = 4;
    for (const c of message) size += c.length;
    this.held += size - bound;
    this.options.budget.adjust(size - bound);
    if (this.unwritten === 0) this.lastWriteProgressAt = this.now();
    this.unwritten += size;
    this.replies.send(message, () => {
      afterSend?.();
      this.written(size);
    });
  }

  private written(size: number): void {
    if (this.closed) return;
    this.unwritten -= size;
    this.lastWriteProgressAt = this.lastActivityAt = this.now();
    this.release(size);
    this.pump();
  }
}
