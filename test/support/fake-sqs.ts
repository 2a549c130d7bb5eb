// A stand-in for one Amazon SQS queue, speaking the AWS JSON 1.0 protocol the SDK's SQSClient
// uses (X-Amz-Target: AmazonSQS.ReceiveMessage / DeleteMessageBatch), enough for the event
// source: messages are queued by the test, received with long polling (MD5OfBody as SQS
// computes it: the SDK checks it), invisible until deleted or until `visibilityMs`; `failWith`
// makes every request answer that HTTP status (an unreachable or forbidden queue). No
// signature is checked.
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface Message {
  id: string;
  body: string;
  handle?: string;
  invisibleUntil: number;
}

export class FakeSqs {
  private readonly server: http.Server;
  private readonly messages: Message[] = [];
  private waiters: Array<() => void> = [];
  failWith: number | undefined;
  readonly deleted: string[] = [];
  receives = 0;

  private constructor(readonly visibilityMs: number) {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => void this.handle(String(req.headers['x-amz-target'] ?? ''), body, res));
    });
  }

  static async start(visibilityMs = 30_000): Promise<FakeSqs> {
    const q = new FakeSqs(visibilityMs);
    await new Promise<void>((r) => q.server.listen(0, '127.0.0.1', () => r()));
    return q;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get queueUrl(): string {
    return `${this.endpoint}/123456789012/s3files-events`;
  }

  send(body: unknown): void {
    this.messages.push({ id: randomUUID(), body: typeof body === 'string' ? body : JSON.stringify(body), invisibleUntil: 0 });
    for (const w of this.waiters.splice(0)) w();
  }

  /** Messages not deleted yet. */
  get pending(): number {
    return this.messages.length;
  }

  async close(): Promise<void> {
    for (const w of this.waiters.splice(0)) w();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private reply(res: http.ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify(body));
  }

  private async handle(target: string, raw: string, res: http.ServerResponse): Promise<void> {
    if (this.failWith !== undefined) {
      const type = this.failWith === 403 ? 'AccessDenied' : 'ServiceUnavailable';
      return this.reply(res, this.failWith, { __type: type, message: 'fake failure' });
    }
    const req = JSON.parse(raw || '{}') as { WaitTimeSeconds?: number; MaxNumberOfMessages?: number; Entries?: Array<{ Id: string; ReceiptHandle: string }> };
    if (target === 'AmazonSQS.ReceiveMessage') {
      this.receives++;
      const deadline = Date.now() + Math.min(req.WaitTimeSeconds ?? 0, 2) * 1000;
      let visible = this.visible(req.MaxNumberOfMessages ?? 1);
      while (visible.length === 0 && Date.now() < deadline && this.failWith === undefined) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, deadline - Date.now());
          this.waiters.push(() => (clearTimeout(t), r()));
        });
        visible = this.visible(req.MaxNumberOfMessages ?? 1);
      }
      const now = Date.now();
      return this.reply(res, 200, {
        Messages: visible.map((m) => {
          m.handle = randomUUID();
          m.invisibleUntil = now + this.visibilityMs;
          return { MessageId: m.id, ReceiptHandle: m.handle, MD5OfBody: createHash('md5').update(m.body).digest('hex'), Body: m.body };
        }),
      });
    }
    if (target === 'AmazonSQS.DeleteMessageBatch') {
      const ok: Array<{ Id: string }> = [];
      for (const e of req.Entries ?? []) {
        const i = this.messages.findIndex((m) => m.handle === e.ReceiptHandle);
        if (i >= 0) {
          this.deleted.push(this.messages[i]!.id);
          this.messages.splice(i, 1);
        }
        ok.push({ Id: e.Id });
      }
      return this.reply(res, 200, { Successful: ok, Failed: [] });
    }
    return this.reply(res, 400, { __type: 'InvalidAction', message: `unknown target ${target}` });
  }

  private visible(max: number): Message[] {
    const now = Date.now();
    return this.messages.filter((m) => m.invisibleUntil <= now).slice(0, Math.min(max, 10));
  }
}
