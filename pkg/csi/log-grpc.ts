// The one wrapper every CSI method runs in: it logs the method, the request with secrets and
// mount flags removed, the duration and the resulting code, and turns whatever the method
// throws into a gRPC status with toGrpcStatus (secret values scrubbed from the details).
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../log/logger';
import { toGrpcStatus } from './errors';

export type UnaryMethod = (request: never) => Promise<unknown>;

/** Calls kubelet and the sidecars make every few seconds; logged at debug level only. */
const QUIET = new Set(['Probe', 'GetPluginInfo', 'GetPluginCapabilities', 'ControllerGetCapabilities', 'NodeGetCapabilities', 'NodeGetInfo', 'NodeGetVolumeStats']);

/** Fields the CSI spec marks sensitive: `secrets` (csi_secret) and `mount_flags`. */
export function redactRequest(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactRequest);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'secrets' && v && typeof v === 'object') out[k] = Object.fromEntries(Object.keys(v).map((s) => [s, '***']));
    else if (k === 'mount_flags' && Array.isArray(v)) out[k] = v.length ? ['***'] : [];
    else out[k] = redactRequest(v);
  }
  return out;
}

/** Every string value under any `secrets` map of the request. */
export function collectSecrets(value: unknown, found: string[] = []): string[] {
  if (value === null || typeof value !== 'object') return found;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'secrets' && v && typeof v === 'object') {
      for (const s of Object.values(v)) if (typeof s === 'string' && s) found.push(s);
    } else if (typeof v === 'object') collectSecrets(v, found);
  }
  return found;
}

/** Wraps the methods of one service as grpc-js unary handlers. */
export function serviceImplementation(service: string, methods: Record<string, UnaryMethod>, log: Logger): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(methods)) {
    impl[name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = process.hrtime.bigint();
      const level = QUIET.has(name) ? 'debug' : 'info';
      const fields = (): Record<string, unknown> => ({ method: `${service}/${name}`, ms: Number(process.hrtime.bigint() - started) / 1e6 });
      log.log(level, 'csi call', { method: `${service}/${name}`, request: redactRequest(call.request) });
      method(call.request as never).then(
        (response) => {
          log.log(level, 'csi call done', { ...fields(), code: 'OK' });
          callback(null, response);
        },
        (err: unknown) => {
          const st = toGrpcStatus(err, collectSecrets(call.request));
          log.log(st.code === grpc.status.INTERNAL ? 'error' : 'warn', 'csi call failed', { ...fields(), code: st.code, details: st.details });
          callback({ code: st.code, details: st.details });
        },
      );
    };
  }
  return impl;
}
