// The S3FileSystem REST calls s3files makes, over @kubernetes/client-node's CustomObjectsApi,
// with the API server's answers turned into the CSI layer's domain errors: 401/403 →
// PermissionError (RBAC), 5xx/429/network → UnavailableError (the CO or the reporter retries).
// Every verb used here must be granted in charts/s3files/templates/rbac.yaml (a test checks it).
import * as k8s from '@kubernetes/client-node';
import { NotFoundError, PermissionError, UnavailableError } from '../errors';
import { GROUP, PLURAL, VERSION, VOLUME_ID_LABEL, volumeIdHash, type S3FileSystem, type S3FileSystemStatus } from './s3filesystem';

/** The API server refused a write because the object changed (409 Conflict / AlreadyExists). */
export class KubeConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeConflictError';
  }
}

/** An answer that means our request was wrong (400, 422, ...): a bug or a CRD out of date. */
export class KubeRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeRequestError';
  }
}

/** The reason and message of a Kubernetes Status body, when the error carries one. */
function statusText(body: unknown): string {
  try {
    const s = (typeof body === 'string' ? JSON.parse(body) : body) as { reason?: string; message?: string };
    return [s.reason, s.message].filter(Boolean).join(': ');
  } catch {
    return '';
  }
}

/** Maps a client-node failure to a domain error. The request (and its token) never appears. */
export function translateKubeError(err: unknown, what: string): Error {
  if (err instanceof k8s.ApiException) {
    const code = (err as k8s.ApiException<unknown>).code;
    const detail = `${what}: HTTP ${code}${statusText((err as k8s.ApiException<unknown>).body) ? ` (${statusText((err as k8s.ApiException<unknown>).body)})` : ''}`;
    if (code === 401 || code === 403) return new PermissionError(`${detail}; check the s3files RBAC`);
    if (code === 404) return new NotFoundError(detail);
    if (code === 409) return new KubeConflictError(detail);
    if (code === 429 || code >= 500) return new UnavailableError(detail);
    return new KubeRequestError(detail);
  }
  // fetch failures (connection refused, DNS, TLS): the API server cannot be reached now.
  return new UnavailableError(`${what}: the Kubernetes API server cannot be reached (${err instanceof Error ? err.message : String(err)})`);
}

/** A merge patch of the status: null removes a field. */
export type StatusPatch = { [K in keyof S3FileSystemStatus]-?: S3FileSystemStatus[K] | null };

const MERGE_PATCH = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

export class S3FileSystemClient {
  private readonly api: k8s.CustomObjectsApi;

  constructor(kubeConfig: k8s.KubeConfig) {
    this.api = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  }

  /** GET; undefined when there is no such object. */
  async get(name: string): Promise<S3FileSystem | undefined> {
    try {
      return (await this.api.getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name })) as S3FileSystem;
    } catch (err) {
      const e = translateKubeError(err, `get ${PLURAL}/${name}`);
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  /** POST; undefined when an object of that name already exists (the caller reads it). */
  async create(obj: S3FileSystem): Promise<S3FileSystem | undefined> {
    try {
      return (await this.api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body: obj })) as S3FileSystem;
    } catch (err) {
      const e = translateKubeError(err, `create ${PLURAL}/${obj.metadata.name}`);
      if (e instanceof KubeConflictError) return undefined;
      throw e;
    }
  }

  /** LIST by the volume-id-hash label, keeping only objects whose spec names exactly this ID. */
  async listByVolumeId(volumeId: string): Promise<S3FileSystem[]> {
    let list: { items?: S3FileSystem[] };
    try {
      list = (await this.api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, labelSelector: `${VOLUME_ID_LABEL}=${volumeIdHash(volumeId)}` })) as { items?: S3FileSystem[] };
    } catch (err) {
      throw translateKubeError(err, `list ${PLURAL}`);
    }
    return (list.items ?? []).filter((o) => o.spec?.volumeId === volumeId);
  }

  /** DELETE; succeeds when the object is already gone. */
  async delete(name: string): Promise<void> {
    try {
      await this.api.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name });
    } catch (err) {
      const e = translateKubeError(err, `delete ${PLURAL}/${name}`);
      if (!(e instanceof NotFoundError)) throw e;
    }
  }

  /**
   * Merge-patches the status subresource, on the condition that the object is still at
   * `resourceVersion` (optimistic concurrency: every node rewrites the shared nodes list).
   * A null field is removed (RFC 7386). Returns false on a conflict (read again and retry);
   * throws NotFoundError if the object is gone.
   */
  async patchStatus(name: string, resourceVersion: string, status: StatusPatch): Promise<boolean> {
    try {
      const body = { metadata: { resourceVersion }, status };
      await this.api.patchClusterCustomObjectStatus({ group: GROUP, version: VERSION, plural: PLURAL, name, body }, MERGE_PATCH);
      return true;
    } catch (err) {
      const e = translateKubeError(err, `patch ${PLURAL}/${name}/status`);
      if (e instanceof KubeConflictError) return false;
      throw e;
    }
  }
}
