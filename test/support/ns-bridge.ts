// TCP services across the boundary of a TestNetwork's namespace, where `s3files serve` runs for
// the UML tests. The two network namespaces share the file system, so a bridge crosses through
// a unix socket, with a forwarder process inside the namespace and a relay in this process:
//   - into the namespace (bridgeIntoNs): a service of the host (e.g. Ceph RGW on 127.0.0.1)
//     reachable inside at 127.0.0.1:PORT or, with `host`, on the namespace's side of the tap
//     (net.hostIp), where a process inside the UML guest can reach it (the CSI node plugin runs
//     there); forwardIntoNs is the namespace's half alone, for a host process that already
//     listens on a unix socket (ShapedLink.listenUnix);
//   - out of it (bridgeOutOfNs): a service inside (e.g. the events endpoint of a server there)
//     reachable from the host's loopback, where Ceph RGW pushes its bucket notifications.
// Bytes pass unchanged (SigV4 signs the Host header, which the server then sees exactly as the
// client sent it).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { TestNetwork } from './netns';

/** Listens on argv[1] and connects each client to argv[2]; each is "unix:PATH" or "tcp:HOST:PORT". */
const FORWARDER = `
const net = require('net');
const spec = (s) => s.startsWith('unix:') ? { path: s.slice(5) } : { host: s.split(':')[1], port: Number(s.split(':')[2]) };
const [listen, target] = [spec(process.argv[1]), spec(process.argv[2])];
net.createServer((c) => {
  const u = net.connect(target);
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
}).listen(listen, () => process.stdout.write('ready\\n'));
`;

export interface NsBridge {
  /** Where the bridge listens inside the namespace. */
  host: string;
  port: number;
  close(): Promise<void>;
}

export interface NsBridgeOut {
  /** Host-side port on 127.0.0.1. */
  port: number;
  close(): Promise<void>;
}

/** A forwarder inside the namespace, ready. */
async function spawnForwarder(netw: TestNetwork, listen: string, target: string): Promise<ChildProcess> {
  const child = netw.spawnInNs(process.execPath, ['-e', FORWARDER, listen, target]);
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
  return child;
}

/** The host's half: accepts on `listen` and pipes each client to a new `connect()`. */
async function relay(listen: net.ListenOptions, connect: () => net.Socket): Promise<{ server: net.Server; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((c) => {
    const u = connect();
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
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(listen, resolve));
  return {
    server,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * `host`: the address inside the namespace to listen on: 127.0.0.1 (default; for processes in
 * the namespace) or netw.hostIp (for the UML guest, which reaches the namespace only there).
 */
export async function bridgeIntoNs(netw: TestNetwork, targetPort: number, nsPort = targetPort, host = '127.0.0.1'): Promise<NsBridge> {
  const sock = path.join(netw.makeTempDir('bridge'), 'b.sock');
  const hostSide = await relay({ path: sock }, () => net.connect(targetPort, '127.0.0.1'));
  const forward = await forwardIntoNs(netw, sock, nsPort, host);
  return {
    host,
    port: nsPort,
    async close() {
      await forward.close();
      await hostSide.close();
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
  const child = await spawnForwarder(netw, `tcp:${host}:${nsPort}`, `unix:${sock}`);
  return { host, port: nsPort, close: async () => void child.kill('SIGKILL') };
}

/** 127.0.0.1:nsPort inside the namespace, reachable at 127.0.0.1:<a free port> of the host. */
export async function bridgeOutOfNs(netw: TestNetwork, nsPort: number): Promise<NsBridgeOut> {
  const sock = path.join(netw.makeTempDir('bridge-out'), 'o.sock');
  const child = await spawnForwarder(netw, `unix:${sock}`, `tcp:127.0.0.1:${nsPort}`);
  const hostSide = await relay({ port: 0, host: '127.0.0.1' }, () => net.connect(sock));
  return {
    port: (hostSide.server.address() as net.AddressInfo).port,
    async close() {
      child.kill('SIGKILL');
      await hostSide.close();
      fs.rmSync(sock, { force: true });
    },
  };
}
