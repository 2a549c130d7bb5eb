// The ONC RPC v2 server over TCP (RFC 5531): one listening socket serving every registered
// program (NFS and MOUNT share a port, so clients mount with port=P,mountport=P and no
// portmapper is involved). Several connections per client are fine (Linux nconnect=N).
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describeError, logger, type Logger } from '../../log/logger';
import { RateLimitedLog } from '../../log/rate-limited';
import { RpcConnection, type ConnectionLimits } from './connection';
import { Dispatcher, type CallObserver } from './dispatch';
import type { RpcProgram } from './program';
import { DEFAULT_MAX_RECORD_BYTES } from './record';
import { ReplyBudget } from './reply-budget';

/** Linux's client keeps up to 65536 slots per connection; 128 keeps memory bounded and is plenty. */
export const DEFAULT_MAX_IN_FLIGHT_PER_CONNECTION = 128;
/**
 * Connections served at once. A node's kernel client shares one connection per server among
 * its mounts (nconnect=16 at most), so this only stops a runaway or hostile peer. A connection
 * arriving at the limit is served; the least recently active one is closed to make room (as
 * knfsd does), so peers that hold connections open cannot lock new clients out.
 */
export const DEFAULT_MAX_CONNECTIONS = 256;
/**
 * Reply memory per connection: 16 READs of 1 MiB in flight, plenty for one client's
 * read-ahead; a client that does not read its replies holds no more than this.
 */
export const DEFAULT_MAX_REPLY_BYTES_PER_CONNECTION = 16 * 1024 * 1024;
/** Reply memory of all connections together. */
export const DEFAULT_MAX_REPLY_BYTES_TOTAL = 128 * 1024 * 1024;
/** Longer than the Linux client's own 5-minute idle disconnect, like knfsd's 6 minutes. */
export const DEFAULT_IDLE_TIMEOUT_MS = 6 * 60_000;
/** A 1 MiB WRITE takes well under a second on any link that can carry NFS. */
export const DEFAULT_RECORD_TIMEOUT_MS = 30_000;
export const DEFAULT_REPLY_STALL_TIMEOUT_MS = 60_000;

export interface RpcServerOptions {
  programs: RpcProgram[];
  /** Largest record accepted; a connection sending a bigger one is closed. */
  maxRecordBytes?: number;
  /** Calls running at once on one connection before the server stops reading from it. */
  maxInFlightPerConnection?: number;
  /** Connections served at once; at the limit a new one replaces the least recently active. */
  maxConnections?: number;
  /** Reply memory per connection and in total (bytes); see reply-budget.ts. */
  maxReplyBytesPerConnection?: number;
  maxReplyBytesTotal?: number;
  idleTimeoutMs?: number;
  recordTimeoutMs?: number;
  replyStallTimeoutMs?: number;
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
  private readonly maxConnections: number;
  private readonly limits: ConnectionLimits;
  private readonly budget: ReplyBudget;
  /** Offenders are named, at most once a minute per client and reason. */
  private readonly offenders: RateLimitedLog;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(options: RpcServerOptions) {
    this.log = options.logger ?? logger('rpc');
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.maxInFlight = options.maxInFlightPerConnection ?? DEFAULT_MAX_IN_FLIGHT_PER_CONNECTION;
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1) {
      throw new RangeError(`maxInFlightPerConnection must be a positive integer, got ${this.maxInFlight}`);
    }
    this.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.limits = {
      // One connection's share fits in the total, or its largest call could never start.
      maxReplyBytes: Math.min(options.maxReplyBytesPerConnection ?? DEFAULT_MAX_REPLY_BYTES_PER_CONNECTION, options.maxReplyBytesTotal ?? DEFAULT_MAX_REPLY_BYTES_TOTAL),
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      recordTimeoutMs: options.recordTimeoutMs ?? DEFAULT_RECORD_TIMEOUT_MS,
      replyStallTimeoutMs: options.replyStallTimeoutMs ?? DEFAULT_REPLY_STALL_TIMEOUT_MS,
    };
    this.budget = new ReplyBudget(options.maxReplyBytesTotal ?? DEFAULT_MAX_REPLY_BYTES_TOTAL);
    this.offenders = new RateLimitedLog(this.log);
    this.dispatcher = new Dispatcher(options.programs, this.log, options.onCall);
    // allowHalfOpen: a client may send its calls and shut down its side; it still gets replies.
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
    // Accept failures (EMFILE) arrive here; without a listener they would kill the process.
    this.server.on('error', (err) => this.log.error('server socket error', { error: describeError(err) }));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Reply memory reserved or held by all connections now. */
  get replyBytesHeld(): number {
    return this.budget.bytes;
  }

  /** Starts listening; port 0 picks a free port. Resolves with the bound address. */
  listen(host: string, port: number): Promise<{ address: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port }, () => {
        this.server.off('error', onError);
        const bound = this.server.address() as AddressInfo;
        this.startSweeper();
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
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
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
    if (this.connections.size >= this.maxConnections) this.evictLeastActive(socket);
    const connection = new RpcConnection(socket, this.dispatcher, {
      maxRecordBytes: this.maxRecordBytes,
      maxInFlight: this.maxInFlight,
      limits: this.limits,
      budget: this.budget,
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

  /** Makes room for a new connection by closing the one whose last call is oldest. */
  private evictLeastActive(newcomer: net.Socket): void {
    let victim: RpcConnection | undefined;
    for (const c of this.connections) if (!victim || c.lastRecordAt < victim.lastRecordAt) victim = c;
    if (!victim) return;
    this.connections.delete(victim);
    victim.destroy();
    this.offenders.write('warn', `evict ${victim.peer.address}`, 'too many connections: closed the least recently active one', {
      client: victim.peer.address,
      port: victim.peer.port,
      idleMs: Date.now() - victim.lastRecordAt,
      newClient: newcomer.remoteAddress,
      max: this.maxConnections,
    });
  }

  /** Closes idle connections and those that trickle records or leave replies unread. */
  private startSweeper(): void {
    if (this.sweeper) return;
    const l = this.limits;
    const every = Math.min(5000, Math.max(20, Math.min(l.idleTimeoutMs, l.recordTimeoutMs, l.replyStallTimeoutMs) / 4));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  private sweep(): void {
    const now = Date.now();
    for (const c of this.connections) {
      const reason = c.reapReason(now);
      if (!reason) continue;
      this.connections.delete(c);
      c.destroy();
      const fields = { client: c.peer.address, port: c.peer.port, reason, replyBytesHeld: c.replyBytesHeld };
      if (reason === 'idle') this.log.debug('closed an idle connection', fields);
      else this.offenders.write('warn', `${reason} ${c.peer.address}`, `closed a connection: ${REAP_MESSAGES[reason]}`, fields);
    }
  }
}

const REAP_MESSAGES = {
  'slow-record': 'a record was not completed in time (a slow or stalled client)',
  'replies-not-read': 'the client does not read its replies',
} as const;
