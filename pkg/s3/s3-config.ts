// Configuration of S3Store and the SDK client built from it.
import http from 'node:http';
import https from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { isTraced, logger } from '../log/logger';
import type { StoreCapabilities } from './object-store';
import { DEFAULT_RETRY_POLICY, realRetryDeps, RetryDeps, RetryPolicy } from './retry';

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3StoreConfig {
  bucket: string;
  /** Custom endpoint for S3-compatible servers, e.g. http://127.0.0.1:7480. */
  endpoint?: string;
  region?: string;
  /** Path-style addressing (bucket in the path); needed by most local S3-compatible servers. */
  forcePathStyle?: boolean;
  /** Explicit keys (from a CSI secret); otherwise the SDK default chain (IRSA, Pod Identity, instance role, env). */
  credentials?: StaticCredentials;
  /**
   * 'WHEN_REQUIRED' (default) sends checksums only where S3 demands them; newer SDKs otherwise
   * send streaming trailer checksums that RGW and other S3-compatible servers refuse (411).
   */
  requestChecksumCalculation?: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';
  connectionTimeoutMs?: number;
  /** Time from sending a request (including its body) to the response headers. */
  requestTimeoutMs?: number;
  /** Socket inactivity limit, also while a response body streams. */
  socketIdleTimeoutMs?: number;
  /**
   * Time from sending a GET, HEAD or LIST to its response headers (default 15 s): such a
   * request that stalls is cut off and retried, without holding its slot for requestTimeoutMs.
   */
  readTimeoutMs?: number;
  /**
   * Maximum S3 requests in flight (default 64; a streamed GET counts until its body is
   * consumed). Halved while the server throttles, grown back as requests succeed (limiter.ts).
   */
  maxConcurrency?: number;
  retry?: Partial<RetryPolicy>;
  /** For tests: a fake sleep and random source. */
  retryDeps?: RetryDeps;
  /** Overrides of detected capabilities (a configured value wins over the probe). */
  capabilities?: Partial<StoreCapabilities>;
  /**
   * How ETags are written in If-Match headers. RGW 16 answers 412 to PutObject with the quoted
   * (correct) ETag and accepts it unquoted, so 'unquoted' is the default; detectCapabilities()
   * switches to 'quoted' if the server only accepts that.
   */
  ifMatchStyle?: 'unquoted' | 'quoted';
  /** Where detectCapabilities() writes its scratch objects (removed afterwards). */
  probePrefix?: string;
}

export interface ResolvedS3Config {
  bucket: string;
  policy: RetryPolicy;
  deps: RetryDeps;
  maxConcurrency: number;
  readTimeoutMs: number;
  probePrefix: string;
  secrets: string[];
}

export function resolveConfig(cfg: S3StoreConfig): ResolvedS3Config {
  return {
    bucket: cfg.bucket,
    policy: { ...DEFAULT_RETRY_POLICY, ...cfg.retry },
    deps: cfg.retryDeps ?? realRetryDeps,
    maxConcurrency: cfg.maxConcurrency ?? 64,
    readTimeoutMs: cfg.readTimeoutMs ?? 15_000,
    probePrefix: cfg.probePrefix ?? '.s3files-probe/',
    // Scrubbed from any message that leaves the store, whatever the server echoes back.
    secrets: [cfg.credentials?.secretAccessKey, cfg.credentials?.sessionToken].filter((s): s is string => !!s),
  };
}

// The SDK's own messages (e.g. "error in a non-retryable streaming request", which our retry
// loop handles) go to the s3 subsystem's debug log instead of the console.
// The SDK's logger middleware reports every failed command at error level, as an object (a 404
// HEAD or a 412 conditional PUT included); our own retry loop and error mapping already report
// what matters, so these go to debug too, as "Command: ErrorName" (never the request input).
const sdkLog = logger('s3-sdk');
const describeSdkLog = (a: unknown[]): string =>
  a
    .map((v) => {
      const o = v as { commandName?: unknown; error?: { name?: unknown } } | null;
      if (o && typeof o === 'object' && typeof o.commandName === 'string') return `${o.commandName}: ${String(o.error?.name ?? 'ok')}`;
      return String(v);
    })
    .join(' ');
const sdkDebug = (...a: unknown[]): void => void sdkLog.debug(describeSdkLog(a));
const sdkLogger = {
  trace: () => undefined,
  debug: sdkDebug,
  // The SDK reports every successful command at info, with its input and output run through
  // their redaction filters first: ~0.1 ms of CPU a request, for a line nobody reads unless the
  // s3-sdk subsystem is traced. Without an info function the SDK skips all of it.
  // (The SDK's Logger type says info is always there; the SDK only ever calls it as info?.().)
  get info(): (...a: unknown[]) => void {
    return (isTraced('s3-sdk') ? sdkDebug : undefined) as (...a: unknown[]) => void;
  },
  warn: sdkDebug,
  error: sdkDebug,
};

export function buildClient(cfg: S3StoreConfig, maxConcurrency: number): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: maxConcurrency + 4 };
  return new S3Client({
    endpoint: cfg.endpoint,
    region: cfg.region ?? 'us-east-1',
    forcePathStyle: cfg.forcePathStyle ?? false,
    credentials: cfg.credentials,
    maxAttempts: 1, // retries are ours (./retry.ts)
    logger: sdkLogger,
    requestChecksumCalculation: cfg.requestChecksumCalculation ?? 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({
      connectionTimeout: cfg.connectionTimeoutMs ?? 5000,
      requestTimeout: cfg.requestTimeoutMs ?? 120000,
      throwOnRequestTimeout: true,
      socketTimeout: cfg.socketIdleTimeoutMs ?? 30000,
      httpAgent: new http.Agent(agentOptions),
      httpsAgent: new https.Agent(agentOptions),
      logger: sdkLogger,
    }),
  });
}
