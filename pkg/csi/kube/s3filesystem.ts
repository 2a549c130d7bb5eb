// The S3FileSystem custom resource (charts/s3files/crds/s3filesystems.yaml): one per volume,
// cluster-scoped. Its spec says what the volume is linked to; its status how far each node's
// cache is from S3. This module holds the shapes and the naming rules the controller
// (crd-volume-store.ts) and the nodes (status-reporter.ts) share.
import { createHash } from 'node:crypto';
import { parseVolumeId } from '../volume-id';

export const GROUP = 's3files.csi.io';
export const VERSION = 'v1alpha1';
export const PLURAL = 's3filesystems';
export const KIND = 'S3FileSystem';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Label holding a hash of spec.volumeId: volume IDs contain ":" and "/", label values may not. */
export const VOLUME_ID_LABEL = `${GROUP}/volume-id-hash`;
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

export interface S3FileSystemSpec {
  /** The CO's volume name (CreateVolumeRequest.name); absent for static volumes. */
  volumeName?: string;
  volumeId: string;
  bucket: string;
  prefix?: string;
  region?: string;
  endpoint?: string;
  capacityBytes?: number;
  onDelete?: 'retain' | 'delete';
  volumeContext?: Record<string, string>;
}

export interface NodeSyncEntry {
  node: string;
  dirtyBytes?: number;
  /** RFC 3339. */
  lastSync?: string;
  error?: string;
  reportedAt?: string;
  /** The node's events endpoint for this volume (other nodes notify it of their writes). */
  notifyUrl?: string;
}

export type Phase = 'Synced' | 'Syncing' | 'Error';

export interface S3FileSystemStatus {
  phase?: Phase;
  dirtyBytes?: number;
  lastSync?: string;
  nodes?: NodeSyncEntry[];
}

export interface S3FileSystem {
  apiVersion: string;
  kind: string;
  metadata: { name: string; uid?: string; resourceVersion?: string; labels?: Record<string, string> };
  spec: S3FileSystemSpec;
  status?: S3FileSystemStatus;
}

export function volumeIdHash(volumeId: string): string {
  return createHash('sha256').update(volumeId).digest('hex').slice(0, 40);
}

/** Resource names must be DNS-1123 subdomains; CSI names are any string up to 128 characters. */
function isDnsSubdomain(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name);
}

/**
 * The resource name for a CO volume name: the name itself when Kubernetes accepts it (the PV
 * name "pvc-<uid>" from external-provisioner always is), else "fs-" + a hash of it. Either way
 * the same name always maps to the same resource, which is what makes CreateVolume idempotent.
 */
export function resourceNameForVolume(volumeName: string): string {
  return isDnsSubdomain(volumeName) ? volumeName : `fs-${createHash('sha256').update(volumeName).digest('hex').slice(0, 40)}`;
}

/** The resource name a node gives a static volume (one no CreateVolume recorded). */
export function resourceNameForStatic(volumeId: string): string {
  return `static-${volumeIdHash(volumeId)}`;
}

/** A new S3FileSystem for a volume, its spec filled from the volume ID (and the CO's record). */
export function newS3FileSystem(name: string, volumeId: string, extra: Partial<S3FileSystemSpec> = {}): S3FileSystem {
  const h = parseVolumeId(volumeId);
  const spec: S3FileSystemSpec = { volumeId, bucket: h.bucket, prefix: h.prefix, onDelete: h.onDelete, ...extra };
  if (h.region) spec.region = h.region;
  if (h.endpoint) spec.endpoint = h.endpoint;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, labels: { [VOLUME_ID_LABEL]: volumeIdHash(volumeId), [MANAGED_BY_LABEL]: 's3files' } },
    spec,
  };
}
