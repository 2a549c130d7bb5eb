// The node service's view of the node's NFS cache server: one export per staged volume.
// The real implementation (nfs-volume-exports.ts) serves each volume's cache file system from
// the node's NfsServer; tests use FakeVolumeExports (testing/fake-volume-exports.ts).
import type { S3Credentials, S3Location, VolumeOptions } from './params';

export interface ExportSpec {
  volumeId: string;
  location: S3Location;
  options: VolumeOptions;
  /** From node-stage secrets; undefined means the default credential chain. */
  credentials?: S3Credentials;
}

/** Where the kernel NFS client mounts the export from: HOST:PATH with port= and mountport=. */
export interface ExportAddress {
  host: string;
  port: number;
  /** The export path, e.g. "/v-3f2a…". */
  path: string;
}

export interface VolumeStats {
  totalBytes: number;
  usedBytes: number;
  availableBytes: number;
  totalInodes: number;
  usedInodes: number;
  freeInodes: number;
}

export interface VolumeExports {
  /** True once the NFS server listens and the cache is open; Identity.Probe reports it. */
  ready(): boolean;
  /**
   * Serves the volume's file system (linked to its bucket/prefix) and returns its address.
   * Idempotent: a repeat call for an exported volume returns the same address.
   */
  ensureExport(spec: ExportSpec): Promise<ExportAddress>;
  /**
   * Stops serving the volume and returns once its dirty data is in S3, or, if S3 cannot be
   * reached in a bounded time, with the data safely on the node's disk, where the node keeps
   * syncing it in the background (after a restart too) until it is in S3.
   * Idempotent: releasing a volume that is not exported succeeds.
   */
  releaseExport(volumeId: string): Promise<void>;
  /** Capacity and inode counts; undefined when the volume is not exported on this node. */
  stats(volumeId: string): Promise<VolumeStats | undefined>;
}
