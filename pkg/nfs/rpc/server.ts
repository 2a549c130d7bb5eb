// The ONC RPC v2 server over TCP (RFC 5531): one listening socket serving every registered
// program (NFS and MOUNT share a port, so clients mount with port=P,mountport=P and no
// portmapper is involved). Several connections per client are fine (Linux nconnect=N).
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describeError, logger, type Logger } from '../../log/logger';
import { RpcConnection } from './connection';
import { Dispatcher, type CallObserver } from './dispatch';
import type { RpcProgram } from './program';
import { DEFAULT_MAX_RECORD_BYTES } from './record';

/** Linux's client keeps up to 65536 slots per connection; 128 keeps memory bounded and is plenty. */
export const DEFAULT_MAX_IN_FLIGHT_PER_CONNECTION = 128;
/**
 * Connections served at once; more are closed as they arrive. A node's kernel client shares one
 * connection per server among its mounts (nconnect=16 at most), so this only stops a runaway
 * or hostile peer. Memory per connection is bounded by maxInFlight records of maxRecordBytes.
 */
export const DEFAULT_MAX_CONNECTIONS = 256;

export interface RpcServerOptions {
  programs: RpcProgram[];
  /** Largest record accepted; a connection sending a bigger one is closed. */
  maxRecordBytes?: number;
  /** Calls running at once on one connection before the server stops reading from it. */
  maxInFlightPerConnection?: number;
  /** Connections served at once; further ones are closed on arrival. */
  maxConnections?: number;
  logger?: Logger;
  /** Called after every call a program handled (metrics, tracing). */
  onCall?: CallObserver;
}

export class RpcServer {
  private readonly server: net.Server;
  private readonly dispatcher: Dispatcher;
  private readonly connections = new Set<RpcConnection>();
  private readonly running = new Set<Promise<void>>();
  private readonly log: Logger;
  private readonly maxRecordBytes: number;
  private readonly maxInFlight: number;

  constructor(options: RpcServerOptions) {
    this.log = options.logger ?? logger('rpc');
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.maxInFlight = options.maxInFlightPerConnection ?? DEFAULT_MAX_IN_FLIGHT_PER_CONNECTION;
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1) {
      throw new RangeError(`maxInFlightPerConnection must be a positive integer, got ${this.maxInFlight}`);
    }
    this.dispatcher = new Dispatcher(options.programs, this.log, options.onCall);
    // allowHalfOpen: a client may send its calls and shut down its side; it still gets replies.
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
    this.server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.server.on('drop', (d?: { remoteAddress?: string; remotePort?: number }) =>
      this.log.warn('connection refused: too many connections', { client: d?.remoteAddress, port: d?.remotePort, max: this.server.maxConnections }),
    );
    // Accept failures (EMFILE) arrive here; without a listener they would kill the process.
    this.server.on('error', (err) => this.log.error('server socket error', { error: describeError(err) }));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Starts listening; port 0 picks a free port. Resolves with the bound address. */
  listen(host: string, port: number): Promise<{ address: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port }, () => {
        this.server.off('error', onError);
        const bound = this.server.address() as AddressInfo;
        this.log.info('listening', { address: bound.address, port: bound.port });
        resolve({ address: bound.address, port: bound.port });
      });
    });
  }

  /**
   * Stops accepting, closes every connection, and waits until the sockets are closed and the
   * calls already running have finished (their replies are discarded), so the caller can then
   * close the file systems behind the programs. Calling it again is harmless.
   */
  async close(): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
    const closing = [...this.connections];
    for (const c of closing) c.destroy();
    await Promise.all([stopped, ...closing.map((c) => c.done)]);
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private accept(socket: net.Socket): void {
    const connection = new RpcConnection(socket, this.dispatcher, {
      maxRecordBytes: this.maxRecordBytes,
      maxInFlight: this.maxInFlight,
      log: this.log,
      track: (call) => {
        this.running.add(call);
        void call.finally(() => this.running.delete(call));
      },
    });
    this.connections.add(connection);
    this.log.debug('connection opened', { client: socket.remoteAddress, port: socket.remotePort });
    void connection.done.then(() => {
      this.connections.delete(connection);
      this.log.debug('connection closed', { client: socket.remoteAddress, port: socket.remotePort });
    });
  }
}
