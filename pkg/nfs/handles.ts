// File handles (DESIGN.md decision 2): stable across restarts, unforgeable, bound to one export.
//
//   version u8 | reserved u8[3] | export id u64 | inode u64 | generation u32 | HMAC-SHA256[0..16)
//
// The HMAC key is a per-node secret kept in the cache directory, so handles survive a restart
// of the server, cannot be guessed by a client, and a handle of one export never names a file
// of another. 40 bytes, well under NFSv3's 64-byte limit.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export const HANDLE_VERSION = 1;
const BODY_BYTES = 24;
const MAC_BYTES = 16;
export const HANDLE_BYTES = BODY_BYTES + MAC_BYTES;

export interface DecodedHandle {
  exportId: bigint;
  ino: number;
  generation: number;
}

export class HandleCodec {
  constructor(private readonly secret: Buffer) {
    if (secret.length < 16) throw new Error('handle secret must be at least 16 bytes');
  }

  encode(exportId: bigint, ino: number, generation: number): Buffer {
    const h = Buffer.alloc(HANDLE_BYTES);
    h.writeUInt8(HANDLE_VERSION, 0);
    h.writeBigUInt64BE(exportId, 4);
    h.writeBigUInt64BE(BigInt(ino), 12);
    h.writeUInt32BE(generation >>> 0, 20);
    this.mac(h.subarray(0, BODY_BYTES)).copy(h, BODY_BYTES);
    return h;
  }

  /** Returns undefined for anything that is not a handle this node issued. */
  decode(h: Buffer): DecodedHandle | undefined {
    if (h.length !== HANDLE_BYTES || h[0] !== HANDLE_VERSION) return undefined;
    const expected = this.mac(h.subarray(0, BODY_BYTES));
    if (!timingSafeEqual(expected, h.subarray(BODY_BYTES))) return undefined;
    const ino = h.readBigUInt64BE(12);
    if (ino > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    return { exportId: h.readBigUInt64BE(4), ino: Number(ino), generation: h.readUInt32BE(20) };
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(body).digest().subarray(0, MAC_BYTES);
  }
}

/**
 * Loads the node's handle secret from `dir`, creating it on first start. The file is written
 * to a temporary name, fsynced and renamed, so a crash never leaves a truncated secret (which
 * would make every handle stale).
 */
export async function loadHandleSecret(dir: string): Promise<Buffer> {
  const file = path.join(dir, 'handle-secret');
  try {
    const existing = await fsp.readFile(file);
    if (existing.length >= 32) return existing.subarray(0, 32);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await fsp.mkdir(dir, { recursive: true });
  const secret = randomBytes(32);
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await fsp.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(secret);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
  return secret;
}
