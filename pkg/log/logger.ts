// Structured JSON logs through winston. Subsystems take child loggers; verbose tracing is
// switched on per subsystem with S3FILES_TRACE=nfs,cache (or "all"), like grpc-js GRPC_TRACE.
import winston from 'winston';

const traced = new Set(
  (process.env.S3FILES_TRACE ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const tracingAll = traced.has('all');

// Debug lines pass only for traced subsystems; everything else follows the root level.
const traceFilter = winston.format((info) => {
  if (info.level !== 'debug') return info;
  const subsystem = typeof info.subsystem === 'string' ? info.subsystem : '';
  return tracingAll || traced.has(subsystem) ? info : false;
});

let configuredLevel = process.env.S3FILES_LOG_LEVEL ?? 'info';

const root = winston.createLogger({
  level: traced.size > 0 ? 'debug' : configuredLevel,
  format: winston.format.combine(
    traceFilter(),
    winston.format.timestamp(),
    winston.format.errors({ stack: false }),
    winston.format.json(),
  ),
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
});

export type Logger = winston.Logger;

/** A logger for one subsystem; its debug output is on when S3FILES_TRACE names it. */
export function logger(subsystem: string): Logger {
  return root.child({ subsystem });
}

/** Whether `subsystem`'s debug lines are written (S3FILES_TRACE names it, or "all"). */
export function isTraced(subsystem: string): boolean {
  return tracingAll || traced.has(subsystem);
}

/** Sets the level for non-traced output; traced subsystems keep their debug lines. */
export function setLogLevel(level: string): void {
  configuredLevel = level;
  if (traced.size === 0) root.level = configuredLevel;
}

/** Renders an unknown thrown value for a log line without stack traces or request bodies. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
