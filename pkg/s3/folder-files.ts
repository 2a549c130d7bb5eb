// The on-disk object format of FolderStore and the durable-write helpers.
//
// One file per object: the body from offset 0, then a JSON trailer (key, ETag, metadata,
// content type, time), then the trailer's length (u32 BE) and a magic. Body and metadata
// therefore change together with one rename(2). Writes go to a temporary file in the store's
// own tmp/ folder (same file system), are fsync'ed, renamed into place, and the directory is
// fsync'ed, so an acknowledged write survives a crash and a torn write is never visible.
import { createHash, Hash } from 'node:crypto';
import { FileHandle, mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';

const MAGIC = Buffer.from('S3FOBJ01');
const TAIL = 4 + MAGIC.length;

export interface ObjectTrailer {
  key: string;
  etag: string;
  size: number;
  lastModified: number;
  metadata: Record<string, string>;
  contentType?: string;
}

/** Reads the trailer of an open object file. */
export async function readTrailer(fh: FileHandle): Promise<ObjectTrailer> {
  const { size: fileSize } = await fh.stat();
  if (fileSize < TAIL) throw new Error('object file too short');
  const tail = Buffer.alloc(TAIL);
  await fh.read(tail, 0, TAIL, fileSize - TAIL);
  if (!tail.subarray(4).equals(MAGIC)) throw new Error('object file has no trailer magic');
  const len = tail.readUInt32BE(0);
  const json = Buffer.alloc(len);
  await fh.read(json, 0, len, fileSize - TAIL - len);
  const trailer = JSON.parse(json.toString('utf8')) as ObjectTrailer;
  if (trailer.size !== fileSize - TAIL - len) throw new Error('object file size does not match its trailer');
  return trailer;
}

export function encodeTrailer(t: ObjectTrailer): Buffer {
  const json = Buffer.from(JSON.stringify(t), 'utf8');
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(json.length, 0);
  return Buffer.concat([json, tail, MAGIC]);
}

/** Writes chunks to a file handle, hashing as it goes; returns bytes written. */
export class HashingWriter {
  readonly md5: Hash = createHash('md5');
  written = 0;

  constructor(private readonly fh: FileHandle) {}

  async write(chunk: Buffer): Promise<void> {
    this.md5.update(chunk);
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off, this.written + off);
      off += bytesWritten;
    }
    this.written += chunk.length;
  }

  async writeStream(stream: Readable): Promise<void> {
    for await (const chunk of stream) await this.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** mkdir -p that fsyncs each parent it adds an entry to, so new directories survive a crash. */
export async function mkdirDurable(dir: string, stopAt: string): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; d.length > stopAt.length; d = dirname(d)) {
    try {
      await mkdir(d);
      missing.push(d);
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') break;
      if (code !== 'ENOENT') throw err;
      missing.push(d);
    }
  }
  // Create from the top down, then make each new entry durable in its parent.
  for (const d of missing.reverse()) {
    await mkdir(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await fsyncDir(dirname(d));
  }
}

/** Renames a finished temporary file into place and makes the rename durable. */
export async function renameDurable(tmp: string, dest: string): Promise<void> {
  await rename(tmp, dest);
  await fsyncDir(dirname(dest));
}
