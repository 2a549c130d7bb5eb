// Argument checks shared by both stores, so that a request one store refuses the other refuses
// too (the contract suite relies on it).
import { InvalidArgumentError } from './errors';
import { MAX_KEY_BYTES } from './object-store';

const METADATA_KEY = /^[a-z0-9!#$&'*+.^_`|~-]+$/;
const METADATA_VALUE = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$|^$/;
/** S3 limits user metadata to 2 KB: the UTF-8 bytes of every key and value added up. */
export const MAX_METADATA_BYTES = 2048;

export function validateKey(key: string, operation: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidArgumentError('empty key', { operation });
  if (!key.isWellFormed()) throw new InvalidArgumentError('key is not valid Unicode', { operation, key });
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new InvalidArgumentError(`key longer than ${MAX_KEY_BYTES} bytes`, { operation, key: key.slice(0, 64) });
  }
}

/**
 * Lowercases keys (S3 does) and refuses what S3 cannot carry in headers: non-ASCII values,
 * leading/trailing blanks (HTTP trims them), more than 2 KB in all.
 */
export function normalizeMetadata(
  metadata: Record<string, string> | undefined,
  operation: string,
  key?: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [rawName, value] of Object.entries(metadata ?? {})) {
    const name = rawName.toLowerCase().replace(/^x-amz-meta-/, '');
    if (!METADATA_KEY.test(name)) throw new InvalidArgumentError(`metadata name ${JSON.stringify(rawName)} is not an HTTP token`, { operation, key });
    if (typeof value !== 'string' || !METADATA_VALUE.test(value)) {
      throw new InvalidArgumentError(`metadata ${name} must be printable US-ASCII without leading/trailing blanks`, { operation, key });
    }
    if (name in out) throw new InvalidArgumentError(`metadata ${name} given twice (names are case-insensitive)`, { operation, key });
    out[name] = value;
    bytes += name.length + value.length;
  }
  if (bytes > MAX_METADATA_BYTES) throw new InvalidArgumentError(`metadata larger than ${MAX_METADATA_BYTES} bytes`, { operation, key });
  return out;
}

export function validateRange(range: { start: number; end: number } | undefined, operation: string, key?: string): void {
  if (!range) return;
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new InvalidArgumentError(`bad range ${start}-${end}`, { operation, key });
  }
}

export function validatePartNumber(partNumber: number, operation: string, key?: string): void {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
    throw new InvalidArgumentError(`part number ${partNumber} outside 1..10000`, { operation, key });
  }
}

export function validateMaxKeys(maxKeys: number | undefined, operation: string): number {
  if (maxKeys === undefined) return 1000;
  if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new InvalidArgumentError(`maxKeys ${maxKeys} must be a positive integer`, { operation });
  return Math.min(maxKeys, 1000);
}
