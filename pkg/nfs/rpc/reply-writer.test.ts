import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { RecordDecoder } from './record';
import { ReplyWriter } from './reply-writer';

/**
 * Records every socket write; corked writes are grouped as the one writev they become. Write
 * callbacks are held in `callbacks` until the test "completes" the writes by calling them.
 */
function fakeSocket(): { socket: Socket; writes: Buffer[][]; callbacks: Array<() => void> } {
  const writes: Buffer[][] = [];
  const callbacks: Array<() => void> = [];
  let corked: Buffer[] | undefined;
  const socket = {
    writable: true,
    cork: () => (corked = []),
    uncork: () => {
      writes.push(corked!);
      corked = undefined;
    },
    write: (b: Buffer, cb?: () => void) => {
      if (cb) callbacks.push(cb);
      return (corked ? corked.push(b) : writes.push([b]), true);
    },
  };
  return { socket: socket as unknown as Socket, writes, callbacks };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function records(writes: Buffer[][]): Buffer[] {
  const d = new RecordDecoder();
  for (const w of writes) for (const b of w) d.push(b);
  const out: Buffer[] = [];
  for (let r = d.next(); r; r = d.next()) out.push(Buffer.from(r));
  return out;
}

describe('rpc reply writer', () => {
  it('[batch] replies sent in one turn go out in one write, framed, in order', async () => {
    const { socket, writes } = fakeSocket();
    const w = new ReplyWriter(socket);
    w.send([Buffer.from('abcd'), Buffer.from('ef')]);
    w.send([Buffer.from('12345678')]);
    assert.equal(writes.length, 0, 'nothing is written before the turn ends');
    assert.equal(w.queuedBytes, 4 + 6 + 4 + 8);
    await tick();
    assert.equal(writes.length, 1);
    assert.equal(writes[0]!.length, 1, 'small pieces are joined into one buffer');
    assert.deepEqual(records(writes).map(String), ['abcdef', '12345678']);
  });

  it('[batch] a large payload is passed by reference, not copied', async () => {
    const { socket, writes } = fakeSocket();
    const w = new ReplyWriter(socket);
    const payload = Buffer.alloc(256 * 1024, 7);
    w.send([Buffer.from('hdr!'), payload]);
    w.send([Buffer.from('next')]);
    await tick();
    assert.equal(writes.length, 1, 'one writev');
    assert.ok(writes[0]!.includes(payload), 'the payload buffer itself is written');
    const [first, second] = records(writes);
    assert.equal(first!.length, 4 + payload.length);
    assert.equal(String(second), 'next');
  });

  it('[flush] flush() writes at once and leaves nothing for the scheduled turn', async () => {
    const { socket, writes } = fakeSocket();
    const w = new ReplyWriter(socket);
    w.send([Buffer.from('now!')]);
    w.flush();
    assert.equal(writes.length, 1);
    await tick();
    assert.equal(writes.length, 1);
    assert.equal(w.queuedBytes, 0);
  });

  it('[closed] replies for a socket that is no longer writable are dropped', async () => {
    const { socket, writes } = fakeSocket();
    const w = new ReplyWriter(socket);
    w.send([Buffer.from('gone')]);
    (socket as unknown as { writable: boolean }).writable = false;
    await tick();
    assert.equal(writes.length, 0);
  });

  it('[afterSend] buffers are handed back only once the socket has written them, once per message', async () => {
    const { socket, writes, callbacks } = fakeSocket();
    const w = new ReplyWriter(socket);
    const sent: string[] = [];
    w.send([Buffer.from('hdr1'), Buffer.alloc(64 * 1024, 1)], () => sent.push('first'));
    w.send([Buffer.from('small')]);
    w.send([Buffer.from('hdr3'), Buffer.alloc(64 * 1024, 3)], () => sent.push('third'));
    await tick();
    assert.equal(writes.length, 1, 'one writev');
    assert.deepEqual(sent, [], 'not while the write is still under way');
    assert.equal(callbacks.length, 1, 'one callback, on the last write of the writev');
    callbacks[0]!();
    assert.deepEqual(sent, ['first', 'third']);
  });

  it('[afterSend] a message that will never be written hands its buffers back at once', async () => {
    const { socket, writes } = fakeSocket();
    const w = new ReplyWriter(socket);
    let sent = 0;
    w.send([Buffer.from('gone'), Buffer.alloc(64 * 1024)], () => sent++);
    (socket as unknown as { writable: boolean }).writable = false;
    await tick();
    assert.equal(writes.length, 0);
    assert.equal(sent, 1);
  });
});
