// The one place the volume's prefix is applied (pkg/s3 README: stores take full keys). Cache
// keys ("rkeys", pkg/cache/link/remote.ts) are relative: "a/b" for a file, "a/b/" for a directory,
// "" for the root; bucket keys are prefix + rkey.

export class KeyMap {
  /** "" (the whole bucket) or a prefix ending in '/'. */
  readonly prefix: string;

  constructor(prefix = '') {
    const p = prefix.replace(/^\/+/, '');
    this.prefix = p === '' || p.endsWith('/') ? p : `${p}/`;
  }

  toS3(rkey: string): string {
    return this.prefix + rkey;
  }

  fromS3(key: string): string | undefined {
    return key.startsWith(this.prefix) ? key.slice(this.prefix.length) : undefined;
  }
}

/** Why a key segment cannot be a file name, or undefined if it can (DESIGN.md decision 3). */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'empty segment (a//b)';
  if (name === '.' || name === '..') return `'${name}' segment`;
  if (name.includes('\0')) return 'NUL in name';
  if (Buffer.byteLength(name, 'utf8') > 255) return 'segment longer than 255 bytes';
  return undefined;
}
