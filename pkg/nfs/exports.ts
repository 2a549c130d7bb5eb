// The exports one NFS server serves, each a FileSystem under a name. Exports are added and
// removed while the server runs (the CSI node plugin adds one per staged volume).
import { createHash } from 'node:crypto';
import type { Credentials, FileSystem } from '../vfs';

export interface ExportOptions {
  readOnly: boolean;
  /** Map uid 0 to the anonymous identity (the NFS default on most servers). */
  rootSquash: boolean;
  /** Map every caller to the anonymous identity. */
  allSquash: boolean;
  anonUid: number;
  anonGid: number;
}

export const DEFAULT_EXPORT_OPTIONS: ExportOptions = {
  readOnly: false,
  rootSquash: false,
  allSquash: false,
  anonUid: 65534,
  anonGid: 65534,
};

export interface Export {
  /** The path clients mount, e.g. "/data"; always starts with "/". */
  readonly path: string;
  /** Stable across restarts: derived from the path. Also the fsid clients see. */
  readonly id: bigint;
  readonly fs: FileSystem;
  readonly options: ExportOptions;
}

/** Export names are mounted as "/NAME"; we accept either form and keep the leading slash. */
export function normaliseExportPath(name: string): string {
  const trimmed = name.replace(/^\/+/, '').replace(/\/+$/, '');
  if (!/^[A-Za-z0-9._\-/]{1,200}$/.test(trimmed) || trimmed.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new Error(`invalid export name ${JSON.stringify(name)}`);
  }
  return `/${trimmed}`;
}

export function exportIdFor(path: string): bigint {
  return createHash('sha256').update(path).digest().readBigUInt64BE(0);
}

export class ExportRegistry {
  private readonly byPath = new Map<string, Export>();
  private readonly byIdMap = new Map<bigint, Export>();

  add(name: string, fs: FileSystem, options: Partial<ExportOptions> = {}): Export {
    const path = normaliseExportPath(name);
    if (this.byPath.has(path)) throw new Error(`export ${path} already exists`);
    const id = exportIdFor(path);
    const clash = this.byIdMap.get(id);
    if (clash) throw new Error(`export ${path} has the same id as ${clash.path}`);
    const exp: Export = { path, id, fs, options: { ...DEFAULT_EXPORT_OPTIONS, ...options } };
    this.byPath.set(path, exp);
    this.byIdMap.set(id, exp);
    return exp;
  }

  /** Removes the export; handles into it become stale. Returns it so the caller can close it. */
  remove(name: string): Export | undefined {
    const path = normaliseExportPath(name);
    const exp = this.byPath.get(path);
    if (!exp) return undefined;
    this.byPath.delete(path);
    this.byIdMap.delete(exp.id);
    return exp;
  }

  byName(name: string): Export | undefined {
    try {
      return this.byPath.get(normaliseExportPath(name));
    } catch {
      return undefined;
    }
  }

  byId(id: bigint): Export | undefined {
    return this.byIdMap.get(id);
  }

  list(): Export[] {
    return [...this.byPath.values()];
  }
}

/**
 * Applies the export's squash rules to the caller's credentials. root_squash maps uid 0, gid 0
 * and group 0 among the supplementary groups each on its own (exports(5), as knfsd does): a
 * caller with uid 1000 and gid 0 would otherwise read root's group-readable files.
 */
export function effectiveCredentials(cred: Credentials, options: ExportOptions): Credentials {
  if (options.allSquash) return { uid: options.anonUid, gid: options.anonGid, gids: [] };
  if (!options.rootSquash) return cred;
  if (cred.uid !== 0 && cred.gid !== 0 && !cred.gids.includes(0)) return cred;
  return {
    uid: cred.uid === 0 ? options.anonUid : cred.uid,
    gid: cred.gid === 0 ? options.anonGid : cred.gid,
    gids: cred.gids.map((g) => (g === 0 ? options.anonGid : g)),
  };
}
