// Domain errors of the object-store boundary. Callers (reconciler, CSI controller) branch on
// these classes, never on SDK exception names or HTTP status codes. Messages name the operation
// and the key, never credentials, signatures or presigned URLs; `cause` holds a sanitised copy
// of the underlying error (name, code, HTTP status, request id), not the SDK's raw exception,
// which carries the HTTP response object.

export interface ErrorContext {
  operation: string;
  key?: string;
}

export class ObjectStoreError extends Error {
  readonly operation: string;
  readonly key?: string;

  constructor(message: string, ctx: ErrorContext, options?: { cause?: unknown }) {
    super(ctx.key !== undefined ? `${ctx.operation} ${JSON.stringify(ctx.key)}: ${message}` : `${ctx.operation}: ${message}`, options);
    this.name = 'ObjectStoreError';
    this.operation = ctx.operation;
    this.key = ctx.key;
  }
}

/** The object (or, for copies, the source object, or the multipart upload) does not exist. */
export class NotFoundError extends ObjectStoreError {
  constructor(message: string, ctx: ErrorContext, options?: { cause?: unknown }) {
    super(message, ctx, options);
    this.name = 'NotFoundError';
  }
}

/**
 * A condition did not hold: If-Match / If-None-Match on a write, a source If-Match on a copy,
 * If-Match on a read, or a concurrent conditional write won (S3's 409 ConditionalRequestConflict).
 */
export class PreconditionFailedError extends ObjectStoreError {
  constructor(message: string, ctx: ErrorContext, options?: { cause?: unknown }) {
    super(message, ctx, options);
    this.name = 'PreconditionFailedError';
  }
}

export class AccessDeniedError extends ObjectStoreError {
  constructor(message: string, ctx: ErrorContext, options?: { cause?: unknown }) {
    super(message, ctx, options);
    this.name = 'AccessDeniedError';
  }
}

export class NoSuchBucketError extends ObjectStoreError {
  constructor(message: string, ctx: ErrorContext, options?: { cause?: unknown }) {
    super(message, ctx, options);
    this.name = 'NoSuchBucketError';
  }
}

/** The server asked us to slow down (503 SlowDown, Throttling) and retries ran out. */
export class ThrottledError extends ObjectStoreError {
  constructor(message: string, ctx: ErrorContext, options?: { cause?: unknown }) {
    super(message, ctx, options);
    this.name = 'ThrottledError';
  }
}

/** A failure that may go away by itself (5xx, reset, timeout) and retries ran out. */
export class TransientError extends ObjectStoreError {
  constructor(message: string, ctx: ErrorContext, options?: { cause?: unknown }) {
    super(message, ctx, options);
    this.name = 'TransientError';
  }
}

/** A ranged read starting at or past the end of the object (HTTP 416). */
export class InvalidRangeError extends ObjectStoreError {
  constructor(message: string, ctx: ErrorContext, options?: { cause?: unknown }) {
    super(message, ctx, options);
    this.name = 'InvalidRangeError';
  }
}

/** The request itself is wrong: bad key, non-ASCII metadata, part too small, bad part list. */
export class InvalidArgumentError extends ObjectStoreError {
  constructor(message: string, ctx: ErrorContext, options?: { cause?: unknown }) {
    super(message, ctx, options);
    this.name = 'InvalidArgumentError';
  }
}

/** True for errors worth retrying later at a higher level (the reconciler's queue). */
export function isRetryableLater(err: unknown): boolean {
  return err instanceof ThrottledError || err instanceof TransientError;
}

const SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/(https?:\/\/[^\s"'?]*)\?[^\s"']*/gi, '$1?[redacted]'], // presigned URLs carry the signature in the query
  [/X-Amz-(Signature|Credential|Security-Token)=[^&\s"']+/gi, 'X-Amz-$1=[redacted]'],
  [/Signature=[0-9a-f]{16,}/gi, 'Signature=[redacted]'],
  [/Credential=[^,\s"']+/gi, 'Credential=[redacted]'],
  [/\b(AKIA|ASIA)[0-9A-Z]{12,}\b/g, '[redacted]'],
];

/** Removes anything that looks like a credential or signature from a message. */
export function scrubSecrets(text: string, extraSecrets: readonly string[] = []): string {
  let out = text;
  for (const secret of extraSecrets) if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  for (const [re, replacement] of SECRET_PATTERNS) out = out.replace(re, replacement);
  return out;
}

/** The parts of a thrown SDK or network error that are safe to keep as `cause`. */
export class SanitizedCause extends Error {
  constructor(
    name: string,
    message: string,
    readonly code?: string,
    readonly httpStatusCode?: number,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = name;
  }
}

export function sanitizeCause(err: unknown, extraSecrets: readonly string[] = []): SanitizedCause {
  if (err instanceof SanitizedCause) return err;
  const e = err as {
    name?: string;
    message?: string;
    code?: string;
    Code?: string;
    $metadata?: { httpStatusCode?: number; requestId?: string };
  };
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const message = scrubSecrets(typeof e?.message === 'string' ? e.message : String(err), extraSecrets);
  const code = e?.Code ?? e?.code;
  return new SanitizedCause(name, message, typeof code === 'string' ? code : undefined, e?.$metadata?.httpStatusCode, e?.$metadata?.requestId);
}
