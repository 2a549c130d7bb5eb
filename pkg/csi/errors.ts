// Errors of the CSI layer and the one mapping from any thrown value to a gRPC status.
//
// Services throw CsiError with the code the CSI spec names for the situation. The interfaces
// below the services (BucketAccess, VolumeExports, VolumeStore) throw the domain errors of this
// file instead, and a service that knows better (CreateVolume: a missing bucket is the caller's
// fault, not a missing volume) converts them itself. Whatever reaches toGrpcStatus unconverted
// becomes INTERNAL with a sanitised message: no stack, no secret values.
import { status } from '@grpc/grpc-js';

export class CsiError extends Error {
  constructor(
    readonly code: status,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CsiError';
  }
}

export const invalidArgument = (message: string): CsiError => new CsiError(status.INVALID_ARGUMENT, message);
export const notFound = (message: string): CsiError => new CsiError(status.NOT_FOUND, message);
export const alreadyExists = (message: string): CsiError => new CsiError(status.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string): CsiError => new CsiError(status.FAILED_PRECONDITION, message);
export const outOfRange = (message: string): CsiError => new CsiError(status.OUT_OF_RANGE, message);
export const aborted = (message: string): CsiError => new CsiError(status.ABORTED, message);

/** Something the call names (a bucket, an export, a volume) does not exist. */
export class NotFoundError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotFoundError';
  }
}

/** The credentials in use may not do what was asked. */
export class PermissionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermissionError';
  }
}

/** A dependency (S3, the NFS server) cannot be reached now; the CO should retry later. */
export class UnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnavailableError';
  }
}

/** A value given to an interface is unusable (e.g. an endpoint the SDK refuses). */
export class InvalidInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidInputError';
  }
}

export interface GrpcStatus {
  code: status;
  details: string;
}

const MAX_DETAILS = 1024;

/**
 * The gRPC status for a thrown value. `secrets` are values that must not appear in the
 * details (the request's secret values); they are replaced by "***".
 */
export function toGrpcStatus(err: unknown, secrets: readonly string[] = []): GrpcStatus {
  const { code, message } = classify(err);
  return { code, details: scrubSecrets(message, secrets).slice(0, MAX_DETAILS) };
}

function classify(err: unknown): { code: status; message: string } {
  if (err instanceof CsiError) return { code: err.code, message: err.message };
  if (err instanceof NotFoundError) return { code: status.NOT_FOUND, message: err.message };
  if (err instanceof PermissionError) return { code: status.PERMISSION_DENIED, message: err.message };
  if (err instanceof UnavailableError) return { code: status.UNAVAILABLE, message: err.message };
  if (err instanceof InvalidInputError) return { code: status.INVALID_ARGUMENT, message: err.message };
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { code: status.INTERNAL, message: `internal error: ${message}` };
}

/** `text` with the given secret values and anything shaped like an AWS key replaced by "***". */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('***');
  // Also anything shaped like an AWS secret key or a key id, whatever the source.
  return out.replace(/\b(AKIA|ASIA)[A-Z0-9]{12,}\b/g, '***').replace(/\b[A-Za-z0-9/+]{40}\b/g, '***');
}
