// Makes a TCP service of the host (e.g. Ceph RGW on 127.0.0.1) reachable from inside a
// TestNetwork's namespace, where `s3files serve` runs for the UML tests. The two network
// namespaces share the file system, so the bridge crosses through a unix socket: a forwarder
// inside the namespace listens on 127.0.0.1:PORT (or, with `host`, on the namespace's side of
// the tap, net.hostIp, where a process inside the UML guest can reach it: the CSI node plugin
// runs there) and connects to the socket; this process
// accepts on the socket and connects to the host's target. Bytes pass unchanged (SigV4 signs the
// Host header, which the server then sees exactly as the client sent it).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { TestNetwork } from './netns';

const FORWARDER = `
const net = require('net');
const [port, sock, host] = [Number(process.argv[1]), process.argv[2], process.argv[3]];
net.createServer((c) => {
  const u = net.connect(sock);
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
}).listen(port, host, () => process.stdout.write('ready\\n'));
`;

export interface NsBridge {
  /** Where the bridge listens inside the namespace. */
  host: string;
  port: number;
  close(): Promise<void>;
}

/**
 * `host`: the address inside the namespace to listen on: 127.0.0.1 (default; for processes in
 * the namespace) or netw.hostIp (for the UML guest, which reaches the namespace only there).
 */
export async function bridgeIntoNs(netw: TestNetwork, targetPort: number, nsPort = targetPort, host = '127.0.0.1'): Promise<NsBridge> {
  const dir = netw.makeTempDir('bridge');
  const sock = path.join(dir, 'b.sock');
  const sockets = new Set<net.Socket>();
  const server = net.createServer((c) => {
    const t = net.connect(targetPort, '127.0.0.1');
    sockets.add(c).add(t);
    c.pipe(t);
    t.pipe(c);
    const done = () => {
      c.destroy();
      t.destroy();
      sockets.delete(c);
      sockets.delete(t);
    };
    c.on('error', done).on('close', done);
    t.on('error', done).on('close', done);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(sock, resolve));
  const forward = await forwardIntoNs(netw, sock, nsPort, host);
  return {
    host,
    port: nsPort,
    async close() {
      await forward.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(sock, { force: true });
    },
  };
}

/**
 * The namespace's half alone: 127.0.0.1:nsPort (or `host`) inside the namespace forwards to a
 * unix socket a host process already listens on (e.g. ShapedLink.listenUnix), with no process
 * of the host between them.
 */
export async function forwardIntoNs(netw: TestNetwork, sock: string, nsPort: number, host = '127.0.0.1'): Promise<NsBridge> {
  const child: ChildProcess = netw.spawnInNs(process.execPath, ['-e', FORWARDER, String(nsPort), sock, host]);
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
  return {
    host,
    port: nsPort,
    close: async () => void child.kill('SIGKILL'),
  };
}
