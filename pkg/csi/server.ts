// The gRPC server of one plugin process: Identity always, plus Controller (controller mode)
// or Node (node mode), on a unix socket as kubelet and the CSI sidecars expect
// (--endpoint unix:///csi/csi.sock). Methods a service does not implement answer
// UNIMPLEMENTED (grpc-js does that for missing handlers).
import { lstat, mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { logger as makeLogger, type Logger } from '../log/logger';
import type { ControllerServer } from './controller';
import type { IdentityServer } from './identity';
import { serviceImplementation, type UnaryMethod } from './log-grpc';
import type { NodeServer } from './node';
import { loadCsi } from './proto';

/** "unix:///csi/csi.sock", "unix:/csi/csi.sock" or "/csi/csi.sock" → "/csi/csi.sock". */
export function socketPathFromEndpoint(endpoint: string): string {
  const m = /^unix:(?:\/\/)?(\/.*)$/.exec(endpoint) ?? /^(\/.*)$/.exec(endpoint);
  if (!m || !m[1]) throw new Error(`--endpoint must be unix:///ABSOLUTE/PATH, got ${JSON.stringify(endpoint)}`);
  return path.normalize(m[1]);
}

function methodsOf(target: object, names: string[]): Record<string, UnaryMethod> {
  const out: Record<string, UnaryMethod> = {};
  for (const name of names) {
    const fn = (target as Record<string, unknown>)[name];
    if (typeof fn !== 'function') throw new Error(`${target.constructor.name} has no method ${name}`);
    out[name] = (fn as UnaryMethod).bind(target);
  }
  return out;
}

export class CsiServer {
  private readonly server = new grpc.Server();
  private readonly log: Logger;
  private socketPath?: string;

  constructor(log?: Logger) {
    this.log = log ?? makeLogger('csi');
  }

  addIdentity(identity: IdentityServer): this {
    const csi = loadCsi();
    this.server.addService(csi.Identity.service, serviceImplementation('Identity', methodsOf(identity, ['GetPluginInfo', 'GetPluginCapabilities', 'Probe']), this.log));
    return this;
  }

  addController(controller: ControllerServer): this {
    const csi = loadCsi();
    const names = ['CreateVolume', 'DeleteVolume', 'ValidateVolumeCapabilities', 'ControllerGetCapabilities'];
    this.server.addService(csi.Controller.service, serviceImplementation('Controller', methodsOf(controller, names), this.log));
    return this;
  }

  addNode(node: NodeServer): this {
    const csi = loadCsi();
    const names = [
      'NodeStageVolume',
      'NodeUnstageVolume',
      'NodePublishVolume',
      'NodeUnpublishVolume',
      'NodeGetVolumeStats',
      'NodeGetCapabilities',
      'NodeGetInfo',
    ];
    this.server.addService(csi.Node.service, serviceImplementation('Node', methodsOf(node, names), this.log));
    return this;
  }

  /** Binds the unix socket, replacing a stale socket file a previous run left behind. */
  async listen(endpoint: string): Promise<string> {
    const socketPath = socketPathFromEndpoint(endpoint);
    await mkdir(path.dirname(socketPath), { recursive: true });
    const existing = await lstat(socketPath).catch(() => undefined);
    if (existing) {
      if (!existing.isSocket()) throw new Error(`${socketPath} exists and is not a socket`);
      await unlink(socketPath);
    }
    await new Promise<void>((resolve, reject) => {
      this.server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
    });
    this.socketPath = socketPath;
    this.log.info('csi server listening', { endpoint: `unix://${socketPath}` });
    return socketPath;
  }

  /** Lets calls in flight finish (up to `graceMs`), then stops and removes the socket. */
  async close(graceMs = 5000): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (this.socketPath) await unlink(this.socketPath).catch(() => undefined);
  }
}
