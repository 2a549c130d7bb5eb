// Parsing helpers shared by the command modes: host:port pairs and byte sizes with suffixes.
import { parseByteSize } from '../pkg/config/byte-size';

export function parseListen(value: string, flag = '--listen'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value.trim());
  if (!m) throw new Error(`${flag} must be HOST:PORT, got ${JSON.stringify(value)}`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`${flag}: port ${port} is out of range`);
  return { host: (m[1] ?? m[2]) as string, port };
}

/** "10G", "512Mi", "1073741824" → bytes (K, M, G, T are powers of 1024). */
export function parseBytes(value: string): number {
  const bytes = parseByteSize(value);
  if (bytes === undefined) throw new Error(`not a size: ${JSON.stringify(value)} (use e.g. 10G or 512Mi)`);
  return bytes;
}

/** A whole number from 1 to `max`: how many of something may run at once. */
export function parseCount(value: string, what: string, max = 1024): number {
  const n = Number(value.trim());
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${what} must be a whole number from 1 to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

export function parseId(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`${what} must be an integer id, got ${value}`);
  return n;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "2s", "500ms", "1.5m", "30" (seconds) → milliseconds. */
export function parseDuration(value: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(value.trim());
  if (!m) throw new Error(`${what} must be a duration such as 2s or 500ms, got ${JSON.stringify(value)}`);
  return Math.round(Number(m[1]) * (DURATION_UNITS[(m[2] ?? 's').toLowerCase()] as number));
}
