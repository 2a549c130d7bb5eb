// One table from SDK / HTTP failures to the domain errors of ./errors. Messages carry the S3
// error code and HTTP status only; the server's message text goes into the sanitised cause.
import {
  AccessDeniedError,
  ErrorContext,
  InvalidArgumentError,
  InvalidRangeError,
  NoSuchBucketError,
  NotFoundError,
  ObjectStoreError,
  PreconditionFailedError,
  sanitizeCause,
  ThrottledError,
  TransientError,
} from './errors';
import type { FailureKind } from './retry';

interface SdkLikeError {
  name?: string;
  Code?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

export function errorCode(err: unknown): string | undefined {
  const e = err as SdkLikeError | undefined;
  return e?.Code ?? (e?.$metadata ? e?.name : undefined);
}

export function httpStatus(err: unknown): number | undefined {
  return (err as SdkLikeError | undefined)?.$metadata?.httpStatusCode;
}

const ACCESS_CODES = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'AllAccessDisabled', 'AccountProblem']);
const INVALID_CODES = new Set([
  'EntityTooSmall', 'EntityTooLarge', 'InvalidPart', 'InvalidPartOrder', 'InvalidArgument', 'InvalidRequest',
  'KeyTooLongError', 'MetadataTooLarge', 'InvalidDigest', 'BadDigest', 'MalformedXML', 'InvalidObjectName',
]);

export function isPreconditionFailure(err: unknown): boolean {
  const code = errorCode(err);
  return httpStatus(err) === 412 || code === 'PreconditionFailed' || code === 'ConditionalRequestConflict';
}

export function isNotFound(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchUpload' || (httpStatus(err) === 404 && code !== 'NoSuchBucket');
}

/** Converts a failure that the retry loop gave up on (or never retried) into a domain error. */
export function toDomainError(err: unknown, kind: FailureKind, ctx: ErrorContext, secrets: readonly string[], attempts: number): ObjectStoreError {
  if (err instanceof ObjectStoreError) return err;
  const cause = sanitizeCause(err, secrets);
  const status = httpStatus(err);
  const code = errorCode(err);
  const what = code ? `${code}${status ? ` (HTTP ${status})` : ''}` : cause.code ?? cause.name;
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  if (kind === 'throttle') return new ThrottledError(`throttled: ${what}${tries}`, ctx, { cause });
  if (kind === 'transient') return new TransientError(`transient failure: ${what}${tries}`, ctx, { cause });
  if (code === 'NoSuchBucket') return new NoSuchBucketError(`no such bucket: ${what}`, ctx, { cause });
  if (isNotFound(err)) return new NotFoundError(`not found: ${what}`, ctx, { cause });
  if (isPreconditionFailure(err)) return new PreconditionFailedError(`precondition failed: ${what}`, ctx, { cause });
  if (status === 403 || (code && ACCESS_CODES.has(code))) return new AccessDeniedError(`access denied: ${what}`, ctx, { cause });
  if (status === 416 || code === 'InvalidRange') return new InvalidRangeError(`range not satisfiable: ${what}`, ctx, { cause });
  if (code && INVALID_CODES.has(code)) return new InvalidArgumentError(`rejected: ${what}`, ctx, { cause });
  return new ObjectStoreError(`failed: ${what}${cause.message && !status ? ` (${cause.message.slice(0, 200)})` : ''}`, ctx, { cause });
}
