// Loads proto/csi.proto at run time with @grpc/proto-loader. The options must match those of
// scripts/gen-csi.sh, which generates the types in ./generated from the same file: field names
// as in the proto (snake_case), enums as strings, 64-bit integers as JS numbers (byte counts
// up to 8 PiB are exact), defaults filled in, and the name of the set oneof member.
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/csi';

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

export type CsiPackage = ProtoGrpcType['csi']['v1'];

/** proto/csi.proto, found from the source tree (pkg/csi) or the build (dist/pkg/csi). */
export function csiProtoPath(): string {
  const candidates = [path.resolve(__dirname, '../../proto/csi.proto'), path.resolve(__dirname, '../../../proto/csi.proto')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`proto/csi.proto not found (looked in ${candidates.join(', ')})`);
  return found;
}

let cached: CsiPackage | undefined;

export function loadCsi(): CsiPackage {
  if (!cached) {
    const file = csiProtoPath();
    const definition = protoLoader.loadSync(path.basename(file), { ...LOADER_OPTIONS, includeDirs: [path.dirname(file)] });
    cached = (grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType).csi.v1;
  }
  return cached;
}
