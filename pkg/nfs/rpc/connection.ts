// One client TCP connection: records in, replies out. Each record is dispatched as soon as it
// is complete, without waiting for earlier ones (the Linux client keeps many calls in flight
// on one connection and matches replies by xid), so replies go out in completion order;
// replies finished in the same event-loop turn share one socket write (reply-writer.ts).
//
// Flow control, so that memory stays bounded whatever the peer does:
// - at most `maxInFlight` calls run at once; past that the socket is paused and records
//   already received stay undecoded in the record decoder;
// - while the socket's write buffer is above its high-water mark (a peer that sends but does
//   not read), no new calls are started either.
import type { Socket } from 'node:net';
import type { Logger } from '../../log/logger';
import { describeError } from '../../log/logger';
import type { DispatchOutcome, Dispatcher, Peer } from './dispatch';
import { RecordDecoder } from './record';
import { ReplyWriter } from './reply-writer';

export interface ConnectionOptions {
  maxRecordBytes: number;
  maxInFlight: number;
  log: Logger;
  /** Registers a running call so that the server's close() can wait for it. */
  track(call: Promise<void>): void;
}

export class RpcConnection {
  private readonly decoder: RecordDecoder;
  private readonly replies: ReplyWriter;
  private readonly peer: Peer;
  private inFlight = 0;
  private paused = false;
  private peerEnded = false;
  private closed = false;
  /** Resolves when the socket has closed. */
  readonly done: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly dispatcher: Dispatcher,
    private readonly options: ConnectionOptions,
  ) {
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
        resolve();
      }),
    );
  }

  destroy(): void {
    this.socket.destroy();
  }

  private fields(): Record<string, unknown> {
    return { client: this.peer.address, port: this.peer.port };
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.decoder.push(chunk);
    this.pump();
  }

  /** Starts every complete record the limits allow, then pauses or resumes reading. */
  private pump(): void {
    while (!this.closed && this.inFlight < this.options.maxInFlight && !this.socket.writableNeedDrain) {
      let record: Buffer | undefined;
      try {
        record = this.decoder.next();
      } catch (err) {
        this.options.log.warn('closing connection: bad record', { ...this.fields(), error: describeError(err) });
        this.socket.destroy();
        return;
      }
      if (!record) break;
      this.start(record);
    }
    if (this.closed) return;
    const mustPause = this.inFlight >= this.options.maxInFlight || this.socket.writableNeedDrain;
    if (mustPause && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!mustPause && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    // The peer half-closed and every call it sent has been answered: finish our side too.
    if (this.peerEnded && this.inFlight === 0) {
      this.replies.flush();
      this.socket.end();
    }
  }

  private start(record: Buffer): void {
    this.inFlight++;
    const call = this.dispatcher
      .dispatch(record, this.peer)
      .then((outcome) => this.finish(outcome))
      .catch((err: unknown) => {
        // The dispatcher maps handler failures to replies; reaching here is a bug, and the
        // connection's state can no longer be trusted.
        this.options.log.error('dispatch failed', { ...this.fields(), error: describeError(err) });
        this.socket.destroy();
      });
    this.options.track(call);
  }

  private finish(outcome: DispatchOutcome): void {
    this.inFlight--;
    if (this.closed || this.socket.destroyed) return;
    switch (outcome.kind) {
      case 'reply':
        this.replies.send(outcome.message, outcome.afterSend);
        break;
      case 'drop':
        this.options.log.debug('dropped record', { ...this.fields(), reason: outcome.reason });
        break;
      case 'close':
        this.options.log.debug('closing connection', { ...this.fields(), reason: outcome.reason });
        // Replies to the calls before the garbage still go out, as they did when each reply
        // was written as soon as it was ready.
        this.replies.flush();
        this.socket.destroy();
        return;
    }
    this.pump();
  }
}
