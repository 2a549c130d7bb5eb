// Remembers recent HandleCodec results. Verifying or minting a handle is an HMAC-SHA256
// (about 6 µs in Node 20, most of a GETATTR's time in this layer), and clients present the same
// few handles over and over. The answer for a given handle never changes while the codec's
// secret does not, so the cache is exact; only handles that verified are remembered, so junk
// handles cannot evict good ones. Eviction is oldest-first, by Map insertion order.
import type { DecodedHandle, HandleCodec } from '../handles';

export const HANDLE_CACHE_ENTRIES = 16384;

export class HandleCache {
  private readonly decoded = new Map<string, DecodedHandle>();
  /**
   * Minted handles by inode number. The export id and generation are checked against the
   * handle's own bytes on a hit: a string key built from a bigint export id cost more than
   * the map lookup (profiled), and two exports sharing an inode number only take turns.
   */
  private readonly encoded = new Map<number, Buffer>();
  /** The export id of the last encode as the two words of the handle's bytes 4..12. */
  private lastExport: bigint | undefined;
  private lastExportHigh = 0;
  private lastExportLow = 0;

  constructor(
    private readonly codec: HandleCodec,
    private readonly max = HANDLE_CACHE_ENTRIES,
  ) {}

  /** As HandleCodec.decode: undefined for anything this node did not issue. */
  decode(fh: Buffer): DecodedHandle | undefined {
    const key = fh.toString('latin1');
    const hit = this.decoded.get(key);
    if (hit !== undefined) return hit;
    const d = this.codec.decode(fh);
    if (d !== undefined) remember(this.decoded, key, d, this.max);
    return d;
  }

  /** As HandleCodec.encode. The buffer is shared: callers copy it, never change it. */
  encode(exportId: bigint, ino: number, generation: number): Buffer {
    if (exportId !== this.lastExport) {
      this.lastExport = exportId;
      this.lastExportHigh = Number(BigInt.asUintN(64, exportId) >> 32n);
      this.lastExportLow = Number(BigInt.asUintN(32, exportId));
    }
    const hit = this.encoded.get(ino);
    if (
      hit !== undefined &&
      hit.readUInt32BE(20) === generation >>> 0 &&
      hit.readUInt32BE(8) === this.lastExportLow &&
      hit.readUInt32BE(4) === this.lastExportHigh
    ) {
      return hit;
    }
    const fh = this.codec.encode(exportId, ino, generation);
    this.encoded.delete(ino);
    remember(this.encoded, ino, fh, this.max);
    remember(this.decoded, fh.toString('latin1'), { exportId, ino, generation: generation >>> 0 }, this.max);
    return fh;
  }
}

function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (map.size >= max) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
  map.set(key, value);
}
