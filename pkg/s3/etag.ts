// S3's ETag rules, used by the folder store to produce them and by the S3 store to recognise
// its own writes after an ambiguous retry: a single PUT's ETag is the MD5 of the body in hex;
// a multipart object's is the MD5 of the concatenated binary part MD5s, then "-N".
import { createHash } from 'node:crypto';
import type { Body } from './object-store';

export function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

export function isMd5Etag(etag: string): boolean {
  return /^[0-9a-f]{32}$/.test(etag);
}

/** The ETag S3 gives a multipart object made of parts with these (MD5) ETags, or undefined. */
export function multipartEtag(partEtags: string[]): string | undefined {
  if (partEtags.length === 0 || !partEtags.every(isMd5Etag)) return undefined;
  const h = createHash('md5');
  for (const e of partEtags) h.update(Buffer.from(e, 'hex'));
  return `${h.digest('hex')}-${partEtags.length}`;
}

/** MD5 of a body; a stream body is opened once more for it. */
export async function md5OfBody(body: Body): Promise<string> {
  if (Buffer.isBuffer(body)) return md5Hex(body);
  const h = createHash('md5');
  for await (const chunk of body.open()) h.update(chunk as Buffer);
  return h.digest('hex');
}

export function bodyLength(body: Body): number {
  return Buffer.isBuffer(body) ? body.length : body.length;
}
