// Byte sizes as the command line and import rules write them: "10G", "512Mi", "128K",
// "1073741824"; K, M, G and T are powers of 1024, with or without "i" and "B". (Kubernetes
// fields such as a StorageClass's cacheLimit are quantities instead, where K is 1000 and Ki
// 1024: pkg/csi/params.ts.)

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** Bytes, or undefined if `value` is not a size (or not a safe integer once multiplied). */
export function parseByteSize(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)$/i.exec(value.trim());
  if (!m) return undefined;
  const bytes = Math.floor(Number(m[1]) * (UNITS[(m[2] ?? '').toLowerCase()] as number));
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
