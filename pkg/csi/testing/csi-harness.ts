// Test harness: a CsiServer on a temporary unix socket and grpc-js clients built from the same
// loaded csi.proto, so every test goes through the real socket, real protobuf encoding and the
// real logging/error wrapper. `call` resolves with the response; `callError` resolves with the
// {code, details} of a failed call (and fails the test if the call succeeded).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import winston from 'winston';
import { logger as makeLogger, type Logger } from '../../log/logger';
import type { ControllerServer } from '../controller';
import type { IdentityServer } from '../identity';
import type { NodeServer } from '../node';
import { loadCsi } from '../proto';
import { CsiServer } from '../server';

/** Silent unless CSI_TEST_LOGS=1: the services log every call, which drowns test output. */
export const testLogger: Logger = process.env.CSI_TEST_LOGS === '1' ? makeLogger('csi-test') : winston.createLogger({ silent: true });

export interface GrpcFailure {
  code: grpc.status;
  details: string;
}

type AnyClient = grpc.Client & Record<string, unknown>;

export class CsiHarness {
  identity!: AnyClient;
  controller!: AnyClient;
  node!: AnyClient;
  socketPath = '';
  private server = new CsiServer(testLogger);
  private dir = '';

  constructor(private readonly services: { identity?: IdentityServer; controller?: ControllerServer; node?: NodeServer }) {}

  async start(): Promise<this> {
    this.dir = await mkdtemp(path.join(os.tmpdir(), 'csi-sock-'));
    if (this.services.identity) this.server.addIdentity(this.services.identity);
    if (this.services.controller) this.server.addController(this.services.controller);
    if (this.services.node) this.server.addNode(this.services.node);
    this.socketPath = await this.server.listen(`unix://${path.join(this.dir, 'csi.sock')}`);
    const csi = loadCsi();
    const address = `unix://${this.socketPath}`;
    const creds = grpc.credentials.createInsecure();
    this.identity = new csi.Identity(address, creds) as unknown as AnyClient;
    this.controller = new csi.Controller(address, creds) as unknown as AnyClient;
    this.node = new csi.Node(address, creds) as unknown as AnyClient;
    return this;
  }

  async stop(): Promise<void> {
    for (const c of [this.identity, this.controller, this.node]) c?.close();
    await this.server.close(1000);
    await rm(this.dir, { recursive: true, force: true });
  }
}

export function call<T = Record<string, unknown>>(client: AnyClient, method: string, request: object): Promise<T> {
  return new Promise((resolve, reject) => {
    const fn = client[method] as (req: object, cb: (err: grpc.ServiceError | null, res: T) => void) => void;
    fn.call(client, request, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

export async function callError(client: AnyClient, method: string, request: object): Promise<GrpcFailure> {
  try {
    await call(client, method, request);
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error(`${method} succeeded but was expected to fail`);
}

/** A capability for a mounted file system in the given access mode. */
export function mountCapability(mode = 'MULTI_NODE_MULTI_WRITER', mountFlags: string[] = []): object {
  return { mount: { fs_type: '', mount_flags: mountFlags }, access_mode: { mode } };
}

export function blockCapability(mode = 'SINGLE_NODE_WRITER'): object {
  return { block: {}, access_mode: { mode } };
}

/** A promise and the function that resolves it, for FakeBucketAccess / FakeVolumeExports gates. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
