// The line protocol of the crash-test fixtures: a child process prints "ack {json}" once an
// operation is acknowledged; the test reads those lines to learn what must survive a SIGKILL.
import type { Readable } from 'node:stream';

/** In a fixture: reports one acknowledged operation. */
export function ack(o: object): void {
  process.stdout.write(`ack ${JSON.stringify(o)}\n`);
}

/** In a test: calls `onAck` with each acknowledgement the child prints, in order, whole lines only. */
export function readAcks<T>(stdout: Readable, onAck: (a: T) => void): void {
  let buffered = '';
  stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('ack ')) onAck(JSON.parse(line.slice(4)) as T);
  });
}
