// Conversions between SDK responses/bodies and the domain types of object-store.ts.
import type { Readable } from 'node:stream';
import { TransientError } from './errors';
import { Body, ByteRange, ObjectInfo, stripEtagQuotes } from './object-store';

export function sdkBody(body: Body): Buffer | Readable {
  return Buffer.isBuffer(body) ? body : body.open();
}

export function sortedEntries(m: Record<string, string>): Array<[string, string]> {
  return Object.entries(m).sort(([a], [b]) => (a < b ? -1 : 1));
}

interface HeadLike {
  ContentLength?: number;
  ETag?: string;
  LastModified?: Date;
  Metadata?: Record<string, string>;
  ContentType?: string;
  ContentRange?: string;
}

export function infoFrom(key: string, out: HeadLike, size: number): ObjectInfo {
  return {
    key, size, etag: stripEtagQuotes(out.ETag ?? ''), lastModified: out.LastModified ?? new Date(0),
    metadata: { ...out.Metadata }, contentType: out.ContentType,
  };
}

/** Size and returned range of a GET: from Content-Range ("bytes 2-4/5") when ranged. */
export function getInfo(key: string, out: HeadLike): { info: ObjectInfo; range: ByteRange | undefined; contentLength: number } {
  const contentLength = out.ContentLength ?? 0;
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(out.ContentRange ?? '');
  if (!m) return { info: infoFrom(key, out, contentLength), range: undefined, contentLength };
  const total = m[3] === '*' ? NaN : Number(m[3]);
  if (Number.isNaN(total)) throw new TransientError(`unusable Content-Range ${out.ContentRange}`, { operation: 'get', key });
  return { info: infoFrom(key, out, total), range: { start: Number(m[1]), end: Number(m[2]) }, contentLength };
}
