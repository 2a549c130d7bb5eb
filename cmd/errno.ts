// The system error code (ECONNREFUSED, ...) behind an error: fetch and the AWS SDK bury it in
// a cause chain, sometimes inside an AggregateError (one error per address tried).
export function errnoIn(err: unknown): string | undefined {
  let e = err as { code?: unknown; cause?: unknown; errors?: unknown[] } | undefined;
  for (let depth = 0; e && depth < 8; depth++) {
    if (typeof e.code === 'string' && /^E[A-Z_]+$/.test(e.code)) return e.code;
    e = (e.cause ?? e.errors?.[0]) as typeof e;
  }
  return undefined;
}
