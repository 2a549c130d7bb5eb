// Our own retry loop (the SDK runs with maxAttempts 1), so that the policy is explicit,
// identical for every operation and testable with an injected sleep and random source:
// exponential backoff with full jitter (sleep = random × min(cap, base × 2^(attempt-1))),
// retrying only what may succeed on a second try: throttling, 5xx, resets and timeouts.

export interface RetryPolicy {
  /** Total attempts including the first; 1 disables retries. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 100, maxDelayMs: 20000 };

export interface RetryDeps {
  sleep(ms: number): Promise<void>;
  /** Uniform in [0, 1). */
  random(): number;
}

export const realRetryDeps: RetryDeps = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

export type FailureKind = 'throttle' | 'transient' | 'fatal';

const THROTTLE_CODES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestThrottled', 'TooManyRequests', 'RequestLimitExceeded', 'TooManyRequestsException']);
const TRANSIENT_CODES = new Set(['InternalError', 'ServiceUnavailable', 'RequestTimeout', 'RequestTimeoutException', 'BadGateway', 'GatewayTimeout']);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTCONN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_STREAM_PREMATURE_CLOSE']);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutError']);

/** Sorts a thrown SDK or network error into throttle / transient (retry) or fatal (do not). */
export function classifyFailure(err: unknown): FailureKind {
  const e = err as { name?: string; code?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  if (!e || typeof e !== 'object') return 'fatal';
  const code = e.Code ?? e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  if (THROTTLE_CODES.has(code) || status === 429 || (status === 503 && code === 'SlowDown')) return 'throttle';
  if (TRANSIENT_CODES.has(code)) return 'transient';
  if (status === 500 || status === 502 || status === 503 || status === 504) return status === 503 ? 'throttle' : 'transient';
  if (status !== undefined && status >= 400) return 'fatal';
  if ((e.code && NETWORK_CODES.has(e.code)) || TIMEOUT_NAMES.has(e.name ?? '')) return 'transient';
  // Node reports a peer that vanished mid-body in several shapes; all mean "try again".
  if (/socket hang up|aborted|premature close|ECONNRESET|EPIPE|other side closed/i.test(e.message ?? '')) return 'transient';
  return 'fatal';
}

export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

export interface AttemptInfo {
  /** 1 for the first try. */
  attempt: number;
}

export interface RetryOutcome {
  kind: FailureKind;
  attempts: number;
  lastError: unknown;
}

/**
 * Runs `fn` until it succeeds, fails fatally, or `maxAttempts` is spent; then throws
 * `onGiveUp(outcome)`. `fn` receives the attempt number so that an operation can tell a first
 * try from a retry (a conditional write whose earlier attempt may have landed).
 */
export async function withRetries<T>(
  fn: (info: AttemptInfo) => Promise<T>,
  policy: RetryPolicy,
  deps: RetryDeps,
  onGiveUp: (outcome: RetryOutcome) => Error,
  onRetry?: (outcome: RetryOutcome, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn({ attempt });
    } catch (err) {
      const kind = classifyFailure(err);
      const outcome = { kind, attempts: attempt, lastError: err };
      if (kind === 'fatal' || attempt >= policy.maxAttempts) throw onGiveUp(outcome);
      const delay = backoffDelay(attempt, policy, deps.random);
      onRetry?.(outcome, delay);
      await deps.sleep(delay);
    }
  }
}
