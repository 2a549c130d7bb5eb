// The reverse of ns-bridge.ts: makes a TCP service inside a TestNetwork's namespace (e.g. the
// events endpoint of `s3files serve` running there) reachable from the host's loopback, where
// Ceph RGW pushes its bucket notifications. A forwarder inside the namespace accepts on a unix
// socket (the namespaces share the file system) and connects to 127.0.0.1:nsPort there; this
// process listens on 127.0.0.1:<free port> and connects to the socket.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { TestNetwork } from './netns';

const FORWARDER = `
const net = require('net');
const [sock, port] = [process.argv[1], Number(process.argv[2])];
net.createServer((c) => {
  const u = net.connect(port, '127.0.0.1');
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
}).listen(sock, () => process.stdout.write('ready\\n'));
`;

export interface NsBridgeOut {
  /** Host-side port on 127.0.0.1. */
  port: number;
  close(): Promise<void>;
}

export async function bridgeOutOfNs(netw: TestNetwork, nsPort: number): Promise<NsBridgeOut> {
  const dir = netw.makeTempDir('bridge-out');
  const sock = path.join(dir, 'o.sock');
  const child: ChildProcess = netw.spawnInNs(process.execPath, ['-e', FORWARDER, sock, String(nsPort)]);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('namespace bridge did not start')), 10_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`namespace bridge exited (${code})`));
    });
  });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((c) => {
    const u = net.connect(sock);
    sockets.add(c).add(u);
    c.pipe(u);
    u.pipe(c);
    const done = () => {
      c.destroy();
      u.destroy();
      sockets.delete(c);
      sockets.delete(u);
    };
    c.on('error', done).on('close', done);
    u.on('error', done).on('close', done);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      child.kill('SIGKILL');
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(sock, { force: true });
    },
  };
}
