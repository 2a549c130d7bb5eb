// Helpers for tests of linked exports: a linked cache file system over a given store and
// prefix in a temporary directory, and path-level helpers over the FileSystem API.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import type { CacheFileSystem } from '../../pkg/cache';
import { openLinkedExport, type LinkedExport, type LinkedExportOptions } from '../../pkg/reconcile';
import type { ObjectStore } from '../../pkg/s3/object-store';
import { listAll } from '../../pkg/s3/object-store';
import type { Credentials } from '../../pkg/vfs';

export const ROOT: Credentials = { uid: 0, gid: 0, gids: [] };

export const quietLog = winston.createLogger({
  level: process.env.S3FILES_TEST_LOG ?? 'error',
  format: winston.format.json(),
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
});

export interface TestExport extends LinkedExport {
  dir: string;
  reopen(extra?: Partial<LinkedExportOptions>): Promise<void>;
  cleanup(): Promise<void>;
}

export async function linkedExport(store: ObjectStore, prefix: string, extra: Partial<LinkedExportOptions> = {}): Promise<TestExport> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3files-linked-'));
  const base: LinkedExportOptions = {
    cacheDir: path.join(dir, 'cache'),
    store,
    prefix,
    linkId: `test:${prefix}`,
    syncDelayMs: 50,
    logger: quietLog,
    reconciler: { retryBaseMs: 50, retryMaxMs: 1000 },
    ...extra,
  };
  let ex = await openLinkedExport(base);
  const t: TestExport = Object.assign(Object.create(null) as TestExport, {
    dir,
    async reopen(more: Partial<LinkedExportOptions> = {}) {
      await ex.close();
      ex = await openLinkedExport({ ...base, ...more });
      Object.assign(t, ex);
    },
    async cleanup() {
      await ex.close().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  });
  Object.assign(t, ex);
  return t;
}

/** The inode at a slash-separated path ('' is the root). */
export async function resolve(f: CacheFileSystem, p: string): Promise<number> {
  let ino = f.rootIno;
  for (const name of p.split('/').filter(Boolean)) ino = (await f.lookup(ROOT, ino, name)).ino;
  return ino;
}

export async function exists(f: CacheFileSystem, p: string): Promise<boolean> {
  try {
    await resolve(f, p);
    return true;
  } catch {
    return false;
  }
}

/** Creates (or truncates) the file at `p` with `data`, committed; parents must exist. */
export async function writeFile(f: CacheFileSystem, p: string, data: Buffer, mode = 0o644): Promise<number> {
  const parent = await resolve(f, path.posix.dirname(p) === '.' ? '' : path.posix.dirname(p));
  const c = await f.create(ROOT, parent, path.posix.basename(p), { kind: 'unchecked', attributes: { mode, size: 0 } });
  for (let off = 0; off < data.length; off += 1024 * 1024) {
    await f.write(ROOT, c.ino, off, data.subarray(off, Math.min(data.length, off + 1024 * 1024)), 'unstable');
  }
  await f.commit(ROOT, c.ino, 0, 0);
  return c.ino;
}

export async function readFile(f: CacheFileSystem, p: string): Promise<Buffer> {
  const ino = await resolve(f, p);
  const size = (await f.getattr(ino)).size;
  const parts: Buffer[] = [];
  for (let off = 0; off < size; off += 1024 * 1024) parts.push((await f.read(ROOT, ino, off, 1024 * 1024)).data);
  return Buffer.concat(parts);
}

export async function mkdirs(f: CacheFileSystem, p: string, mode = 0o755): Promise<number> {
  let ino = f.rootIno;
  for (const name of p.split('/').filter(Boolean)) {
    try {
      ino = (await f.lookup(ROOT, ino, name)).ino;
    } catch {
      ino = (await f.mkdir(ROOT, ino, name, { mode })).ino;
    }
  }
  return ino;
}

export async function listNames(f: CacheFileSystem, p: string): Promise<string[]> {
  const dir = await resolve(f, p);
  const out: string[] = [];
  let cookie = 0n;
  let verifier: Buffer = Buffer.alloc(8);
  for (;;) {
    const r = await f.readdir(ROOT, dir, { cookie, verifier, maxEntries: 500, withAttributes: false });
    for (const e of r.entries) if (e.name !== '.' && e.name !== '..') out.push(e.name);
    if (r.eof || r.entries.length === 0) return out.sort();
    cookie = r.entries[r.entries.length - 1]!.cookie;
    verifier = r.verifier;
  }
}

/** Every key under `prefix`, relative to it, with sizes. */
export async function bucketKeys(store: ObjectStore, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const page of listAll(store, { prefix })) for (const o of page.objects) out.set(o.key.slice(prefix.length), o.size);
  return out;
}

export async function objectBytes(store: ObjectStore, key: string): Promise<Buffer> {
  return (await store.getBuffer(key)).data;
}

export function assertKeys(actual: Map<string, number>, expected: string[]): void {
  assert.deepEqual(Array.from(actual.keys()).sort(), [...expected].sort());
}

export function uniquePrefix(name: string): string {
  return `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}/`;
}
