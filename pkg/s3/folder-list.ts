// ListObjectsV2 over FolderStore's tree: keys in UTF-8 byte order, prefix, delimiter grouping,
// maxKeys and an opaque continuation token, with whole subtrees skipped when they cannot hold a
// wanted key (before the token, outside the prefix, or inside an emitted common prefix).
import { readdir, readFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from './errors';
import { compareKeys, decodeEntry, DIR_NAME_FILE, subtreeWanted } from './folder-keys';
import { readTrailer } from './folder-files';
import type { ListedObject, ListOptions, ListResult } from './object-store';
import { validateMaxKeys } from './validate';

interface Token {
  /** Last key or common prefix returned. */
  a: string;
  /** True when `a` was a common prefix: every key under it is skipped. */
  p: boolean;
}

function encodeToken(t: Token): string {
  return Buffer.from(JSON.stringify(t), 'utf8').toString('base64url');
}

function decodeToken(s: string): Token {
  try {
    const t = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Token;
    if (typeof t.a === 'string' && typeof t.p === 'boolean') return t;
  } catch {
    // fall through
  }
  throw new InvalidArgumentError('invalid continuation token', { operation: 'list' });
}

interface Found {
  key: string;
  file: string;
}

interface WalkState {
  prefix: string;
  after: string | undefined;
  /** Keys starting with this are not wanted (an emitted common prefix). */
  skip: string | undefined;
}

/** Yields object files in key order, consulting `state` (which the caller updates) as it goes. */
async function* walk(dir: string, dirKey: string, state: WalkState): AsyncGenerator<Found> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [] as string[];
    throw err;
  });
  const entries: Array<{ sortKey: string; key: string; type: 'object' | 'dir'; path: string }> = [];
  for (const name of names) {
    const e = decodeEntry(name);
    if (!e) continue;
    const path = join(dir, name);
    const segment = e.segment ?? (await hashedSegment(path, e.type));
    if (segment === undefined) continue;
    const key = dirKey + segment;
    entries.push({ sortKey: e.type === 'dir' ? `${key}/` : key, key, type: e.type, path });
  }
  entries.sort((x, y) => compareKeys(x.sortKey, y.sortKey));
  for (const e of entries) {
    if (e.type === 'dir') {
      const sub = e.sortKey;
      if (state.skip !== undefined && sub.startsWith(state.skip)) continue;
      if (!subtreeWanted(sub, state.prefix, state.after)) continue;
      yield* walk(e.path, sub, state);
    } else {
      if (!e.key.startsWith(state.prefix)) continue;
      if (state.after !== undefined && compareKeys(e.key, state.after) <= 0) continue;
      if (state.skip !== undefined && e.key.startsWith(state.skip)) continue;
      yield { key: e.key, file: e.path };
    }
  }
}

/** The real segment behind a hashed name: from the object's trailer or the dir's ~name file. */
async function hashedSegment(path: string, type: 'object' | 'dir'): Promise<string | undefined> {
  try {
    if (type === 'dir') return await readFile(join(path, DIR_NAME_FILE), 'utf8');
    const fh = await open(path, 'r');
    try {
      const key = (await readTrailer(fh)).key;
      return key.slice(key.lastIndexOf('/') + 1);
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

async function listedObject(found: Found): Promise<ListedObject | undefined> {
  try {
    const fh = await open(found.file, 'r');
    try {
      const t = await readTrailer(fh);
      return { key: found.key, size: t.size, etag: t.etag, lastModified: new Date(t.lastModified) };
    } finally {
      await fh.close();
    }
  } catch {
    return undefined; // deleted between readdir and open
  }
}

export async function listFolder(objectsRoot: string, opts: ListOptions): Promise<ListResult> {
  const maxKeys = validateMaxKeys(opts.maxKeys, 'list');
  const prefix = opts.prefix ?? '';
  const delimiter = opts.delimiter || undefined;
  const token = opts.continuationToken !== undefined ? decodeToken(opts.continuationToken) : undefined;
  let after = opts.startAfter;
  if (token && (after === undefined || compareKeys(token.a, after) > 0)) after = token.a;
  const state: WalkState = { prefix, after, skip: token?.p ? token.a : undefined };
  const objects: ListedObject[] = [];
  const commonPrefixes: string[] = [];
  let last: Token | undefined;
  let more = false;
  for await (const found of walk(objectsRoot, '', state)) {
    const rest = found.key.slice(prefix.length);
    const cut = delimiter ? rest.indexOf(delimiter) : -1;
    const cp = cut >= 0 ? prefix + rest.slice(0, cut + (delimiter?.length ?? 0)) : undefined;
    if (objects.length + commonPrefixes.length >= maxKeys) {
      more = true;
      break;
    }
    if (cp !== undefined) {
      commonPrefixes.push(cp);
      state.skip = cp;
      last = { a: cp, p: true };
    } else {
      const obj = await listedObject(found);
      if (!obj) continue;
      objects.push(obj);
      last = { a: found.key, p: false };
    }
  }
  return { objects, commonPrefixes, nextContinuationToken: more && last ? encodeToken(last) : undefined };
}
