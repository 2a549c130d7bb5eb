// An ObjectStore decorator for tests: forwards every call to a real store (FolderStore or S3Store
// on Ceph RGW) and records it, so a test can assert what the reconciler asked of the bucket and
// in which order (copy before delete, part copies instead of uploads, no GET at link time).
import type { ObjectStore } from '../../pkg/s3/object-store';

export interface RecordedCall {
  op: string;
  key: string;
  /** Second key (copy destination, part-copy source) or option summary. */
  detail?: string;
  bytes?: number;
}

const KEYED = new Set([
  'head', 'get', 'getBuffer', 'put', 'createMultipartUpload', 'uploadPart', 'uploadPartCopy',
  'completeMultipartUpload', 'abortMultipartUpload', 'copy', 'delete',
]);

export interface RecordingStore {
  store: ObjectStore;
  calls: RecordedCall[];
  count(op: string, keyPrefix?: string): number;
  reset(): void;
}

export function recordingStore(inner: ObjectStore): RecordingStore {
  const calls: RecordedCall[] = [];
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const name = String(prop);
      return (...args: unknown[]) => {
        if (KEYED.has(name)) {
          const call: RecordedCall = { op: name, key: String(args[0]) };
          if (name === 'copy') call.detail = String(args[1]);
          if (name === 'uploadPartCopy') call.detail = String(args[3]);
          if (name === 'put' || name === 'uploadPart') {
            const body = args[name === 'put' ? 1 : 3] as { length: number };
            call.bytes = body.length;
          }
          calls.push(call);
        } else if (name === 'list') {
          calls.push({ op: name, key: String((args[0] as { prefix?: string }).prefix ?? '') });
        } else if (name === 'deleteMany') {
          // Recorded as deletes, one per key, so tests can check order and count.
          for (const key of args[0] as string[]) calls.push({ op: 'delete', key, detail: 'batch' });
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    store,
    calls,
    count: (op, keyPrefix = '') => calls.filter((c) => c.op === op && c.key.startsWith(keyPrefix)).length,
    reset: () => void (calls.length = 0),
  };
}
