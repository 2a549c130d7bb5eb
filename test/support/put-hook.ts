// For crash fixtures: a real ObjectStore whose put() is replaced, so that a test can act while
// an upload is on the wire (or make it land and never answer). Every other call goes to the
// real store, bound to it.
import type { ObjectStore } from '../../pkg/s3/object-store';

export function withPut<T extends ObjectStore>(inner: T, put: ObjectStore['put']): T {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'put') return put;
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
