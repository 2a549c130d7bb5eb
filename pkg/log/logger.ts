// Structured JSON logs through winston. Subsystems take child loggers; verbose tracing is
// switched on per subsystem with S3FILES_TRACE=nfs,cache (or "all"), like grpc-js GRPC_TRACE.
import winston from 'winston';

const traced = new Set(
  (process.env.S3FILES_TRACE ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

const root = winston.createLogger({
  level: process.env.S3FILES_LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'warn' : 'info'),
  format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: false }), winston.format.json()),
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
});

export type Logger = winston.Logger;

/** A logger for one subsystem; its debug output is on when S3FILES_TRACE names it. */
export function logger(subsystem: string): Logger {
  const child = root.child({ subsystem });
  if (traced.has(subsystem) || traced.has('all')) child.level = 'debug';
  return child;
}

export function setLogLevel(level: string): void {
  root.level = level;
}

/** Renders an unknown thrown value for a log line without stack traces or request bodies. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
