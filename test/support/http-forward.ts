// Header plumbing shared by the test proxies (fault-proxy.ts, shaped-link.ts): both forward a
// request byte for byte, Host included, because the SDK signs Host (SigV4) and the server checks
// the signature against the host:port the client was pointed at (the proxy's).

/** Node's raw header list → the object http.request takes, keeping repeated headers. */
export function rawHeadersToObject(raw: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/** A response's raw headers without the hop-by-hop ones: each side's connection is the proxy's own business. */
export function flatRaw(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (/^(connection|keep-alive|transfer-encoding)$/i.test(raw[i]!)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}
