// Bucket events from an SQS queue on AWS: S3 Event Notifications sent to the queue directly (or
// through SNS), or EventBridge "Object Created"/"Object Deleted" events a rule targets at it.
// Long polling (20 s waits, up to 10 messages); a message is deleted once its changes were
// handed to the feeds (they apply them asynchronously, re-listing is idempotent: a crash before
// the apply loses only what the TTL or the start-up gap recovers). A message that is not an
// event is deleted too (logged, rate-limited): it would come back forever otherwise.
//
// A queue that cannot be read (permissions, network, deleted) is retried with backoff (1 s …
// 60 s) and reported in status(); meanwhile the exports fall back to their TTL. Every start
// and every recovery after an error is a gap (messages may have expired or been purged
// meanwhile): the feeds re-list what they hold at its next use.
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { describeError, type Logger } from '../log/logger';
import type { BucketChange } from './records';
import type { EventRouter } from './router';

export interface SqsSourceOptions {
  queueUrl: string;
  router: EventRouter;
  log: Logger;
  /** SDK client settings (region, endpoint, credentials); the default chain otherwise. */
  client?: SQSClientConfig;
  /** Long-poll wait (s, default 20). */
  waitSeconds?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Called with the changes of every message (after delivery): to pass them on to peers. */
  onChanges?: (changes: BucketChange[]) => void;
}

export interface SqsSourceStatus {
  queueUrl: string;
  connected: boolean;
  messages: number;
  malformed: number;
  lastError?: string;
  lastErrorAt?: string;
}

export class SqsSource {
  private readonly client: SQSClient;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private failures = 0;
  private state: SqsSourceStatus;

  constructor(private readonly o: SqsSourceOptions) {
    // The queue URL names its endpoint (as the SDK would pick it, without its warning on stderr
    // when the two differ: a VPC endpoint, a test queue).
    this.client = new SQSClient({ endpoint: new URL(o.queueUrl).origin, ...o.client });
    this.state = { queueUrl: o.queueUrl, connected: false, messages: 0, malformed: 0 };
  }

  start(): void {
    this.running ??= this.loop();
  }

  status(): SqsSourceStatus {
    return { ...this.state };
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running?.catch(() => undefined);
    this.client.destroy();
  }

  private async loop(): Promise<void> {
    let needGap = true;
    while (!this.abort.signal.aborted) {
      try {
        const res = await this.client.send(
          new ReceiveMessageCommand({ QueueUrl: this.o.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: this.o.waitSeconds ?? 20 }),
          { abortSignal: this.abort.signal },
        );
        if (needGap) {
          // Reachable again (or for the first time): what was missed is unknown.
          this.o.router.deliver({ changes: [], gap: true, ignored: 0 });
          needGap = false;
        }
        this.state.connected = true;
        this.failures = 0;
        const done: Array<{ Id: string; ReceiptHandle: string }> = [];
        for (const [i, m] of (res.Messages ?? []).entries()) {
          this.state.messages++;
          const delivered = this.o.router.deliverBody(m.Body ?? '', `sqs ${this.o.queueUrl}`);
          if (delivered === undefined) this.state.malformed++;
          else if (delivered.changes > 0) this.o.onChanges?.(delivered.parsed.changes);
          if (m.ReceiptHandle) done.push({ Id: String(i), ReceiptHandle: m.ReceiptHandle });
        }
        if (done.length > 0) await this.client.send(new DeleteMessageBatchCommand({ QueueUrl: this.o.queueUrl, Entries: done }), { abortSignal: this.abort.signal });
      } catch (err) {
        if (this.abort.signal.aborted) return;
        needGap = true;
        this.state.connected = false;
        this.state.lastError = describeError(err);
        this.state.lastErrorAt = new Date().toISOString();
        const delay = Math.min(this.o.retryMaxMs ?? 60_000, (this.o.retryBaseMs ?? 1000) * 2 ** Math.min(this.failures++, 16));
        this.o.router.warn('the SQS queue cannot be read; the TTL stands in until it can', { queueUrl: this.o.queueUrl, retryInMs: delay, err: this.state.lastError });
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          this.abort.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
        });
      }
    }
  }
}
