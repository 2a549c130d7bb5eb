// CacheFileSystem: the FileSystem the NFS server serves, on local disk. Each method checks the
// caller's permissions and delegates to the operation modules (ops-*.ts); this class adds only
// the inode-level queries, start/stop and the guard that turns unexpected failures into EIO.
import {
  FsError,
  type Attributes,
  type Created,
  type CreateMode,
  type Credentials,
  type FileSystem,
  type FsInfo,
  type FsStat,
  type LookupResult,
  type ReadDirOptions,
  type ReadDirResult,
  type ReadResult,
  type SetAttributes,
  type Stability,
  type Timestamp,
  type Wcc,
  type WriteResult,
} from '../vfs';
import { describeError } from '../log/logger';
import type { ChangeListener, FsCore } from './core/core';
import { findEntry } from './meta/directory';
import { MAX_LINKS, ROOT_INO, toAttributes } from './meta/inode';
import { checkName, MAX_NAME_BYTES } from './ops/names';
import * as create from './ops/create';
import * as data from './ops/data';
import { readdir } from './ops/readdir';
import * as remove from './ops/remove';
import { setattr } from './ops/setattr';
import { grantedAccess, requireSearch } from './ops/permissions';
import type { RemoteChanges } from './link/remote-changes';
import type { CacheSync } from './link/sync-api';

export interface CacheFileSystemParts {
  core: FsCore;
  /** Linked: the reconciler's view (link/sync-api.ts), made by index.ts. */
  sync: CacheSync | undefined;
  /** Linked: change notices from the bucket or other nodes (link/remote-changes.ts). */
  remoteChanges?: RemoteChanges;
  release: () => Promise<void>;
  flushIntervalMs: number;
}

export class CacheFileSystem implements FileSystem {
  readonly rootIno = ROOT_INO;
  private readonly core: FsCore;
  private readonly release: () => Promise<void>;
  private readonly timer: NodeJS.Timeout;
  private closing: Promise<void> | undefined;
  /** Linked to a bucket: the reconciler's view (see sync-api.ts); undefined for a local cache. */
  readonly sync: CacheSync | undefined;
  /** Linked: change notices from the bucket or other nodes (link/remote-changes.ts). */
  readonly remoteChanges: RemoteChanges | undefined;
  private commitHook: ((ino: number) => Promise<void>) | undefined;

  constructor(parts: CacheFileSystemParts) {
    this.core = parts.core;
    this.sync = parts.sync;
    this.remoteChanges = parts.remoteChanges;
    this.release = parts.release;
    // Attributes changed by unstable writes and atime reach LMDB at least this often.
    this.timer = setInterval(() => {
      this.core.flush().catch((err) => this.core.log.error('periodic flush failed', { err: describeError(err) }));
    }, parts.flushIntervalMs);
    this.timer.unref();
  }

  /** Subscribes to changes: (ino, 'data' | 'metadata' | 'entries' | 'removed'). */
  onChange(listener: ChangeListener): () => void {
    return this.core.onChange(listener);
  }

  /** Change counters of an inode, for the reconciler: bumped on data and on metadata changes. */
  versions(ino: number): Promise<{ dataVersion: number; metaVersion: number }> {
    return this.guard('versions', () => {
      const rec = this.core.record(ino);
      return { dataVersion: rec.dataVersion, metaVersion: rec.metaVersion };
    });
  }

  getattr(ino: number, generation?: number): Promise<Attributes> {
    return this.guard('getattr', () => {
      // Linked: attributes not read from the bucket yet are read first (import-queue.ts).
      const reading = this.core.link?.imports.wait(ino);
      return reading ? reading.then(() => toAttributes(this.core.record(ino, generation))) : toAttributes(this.core.record(ino, generation));
    });
  }

  setattr(cred: Credentials, ino: number, attrs: SetAttributes, guardCtime?: Timestamp): Promise<Wcc> {
    return this.guard('setattr', () => setattr(this.core, cred, ino, attrs, guardCtime));
  }

  lookup(cred: Credentials, dir: number, name: string): Promise<LookupResult> {
    return this.guard('lookup', async () => {
      if (name !== '.' && name !== '..') {
        await this.listed(dir);
        await this.core.link?.imports.beforeLookup(dir, name);
      }
      const d = this.core.record(dir);
      if (d.type !== 'dir') throw new FsError('ENOTDIR', `inode ${dir} is not a directory`);
      requireSearch(cred, d);
      let ino: number;
      if (name === '.') ino = dir;
      else if (name === '..') ino = d.parent!;
      else {
        checkName(name);
        const entry = findEntry(this.core.store, dir, name);
        if (!entry) throw new FsError('ENOENT', `'${name}' not found`);
        ino = entry.ino;
      }
      const rec = this.core.inodes.get(ino);
      if (!rec) throw new FsError('ENOENT', `'${name}' not found`);
      return { ino, attributes: toAttributes(rec), dirAttributes: toAttributes(d) };
    });
  }

  access(cred: Credentials, ino: number, mask: number): Promise<{ granted: number; attributes: Attributes }> {
    return this.guard('access', () => {
      const rec = this.core.record(ino);
      return { granted: grantedAccess(cred, rec, mask), attributes: toAttributes(rec) };
    });
  }

  readlink(_cred: Credentials, ino: number): Promise<{ target: string; attributes: Attributes }> {
    return this.guard('readlink', () => {
      const rec = this.core.record(ino);
      if (rec.type !== 'symlink') throw new FsError('EINVAL', `inode ${ino} is not a symlink`);
      this.core.touchAtime(ino);
      return { target: rec.target ?? '', attributes: this.core.attributes(ino) };
    });
  }

  read(cred: Credentials, ino: number, offset: number, count: number): Promise<ReadResult> {
    return this.guard('read', () => {
      // Linked: a queued import of this file runs now, and the read waits for it (one GET).
      const importing = this.core.link?.imports.beforeRead(ino);
      return importing ? importing.then(() => data.read(this.core, cred, ino, offset, count)) : data.read(this.core, cred, ino, offset, count);
    });
  }

  write(cred: Credentials, ino: number, offset: number, buf: Buffer, stability: Stability): Promise<WriteResult> {
    return this.guard('write', () => data.write(this.core, cred, ino, offset, buf, stability));
  }

  create(cred: Credentials, dir: number, name: string, mode: CreateMode): Promise<Created> {
    return this.guard('create', async () => {
      await this.listed(dir);
      return create.create(this.core, cred, dir, name, mode);
    });
  }

  mkdir(cred: Credentials, dir: number, name: string, attrs: SetAttributes): Promise<Created> {
    return this.guard('mkdir', async () => {
      await this.listed(dir);
      return create.mkdir(this.core, cred, dir, name, attrs);
    });
  }

  symlink(cred: Credentials, dir: number, name: string, target: string, attrs: SetAttributes): Promise<Created> {
    return this.guard('symlink', async () => {
      await this.listed(dir);
      return create.symlink(this.core, cred, dir, name, target, attrs);
    });
  }

  mknod(
    cred: Credentials,
    dir: number,
    name: string,
    type: 'block' | 'char' | 'socket' | 'fifo',
    attrs: SetAttributes,
    rdev: { major: number; minor: number },
  ): Promise<Created> {
    return this.guard('mknod', async () => {
      await this.listed(dir);
      return create.mknod(this.core, cred, dir, name, type, attrs, rdev);
    });
  }

  link(cred: Credentials, ino: number, dir: number, name: string): Promise<{ attributes: Attributes; dir: Wcc }> {
    return this.guard('link', async () => {
      await this.listed(dir);
      return create.link(this.core, cred, ino, dir, name);
    });
  }

  remove(cred: Credentials, dir: number, name: string): Promise<Wcc> {
    return this.guard('remove', async () => {
      await this.listed(dir);
      return remove.remove(this.core, cred, dir, name);
    });
  }

  rmdir(cred: Credentials, dir: number, name: string): Promise<Wcc> {
    return this.guard('rmdir', async () => {
      await this.listed(dir);
      // Empty here must mean empty in the bucket too.
      await this.listedChild(dir, name, 'fresh');
      return remove.rmdir(this.core, cred, dir, name);
    });
  }

  rename(cred: Credentials, fromDir: number, fromName: string, toDir: number, toName: string): Promise<{ from: Wcc; to: Wcc }> {
    return this.guard('rename', async () => {
      await this.listed(fromDir);
      if (toDir !== fromDir) await this.listed(toDir);
      await this.listedChild(toDir, toName, 'fresh');
      return remove.rename(this.core, cred, fromDir, fromName, toDir, toName);
    });
  }

  readdir(cred: Credentials, dir: number, options: ReadDirOptions): Promise<ReadDirResult> {
    return this.guard('readdir', async () => {
      // A listing from the start re-validates an old one; later pages continue the same one.
      const listing = this.listed(dir, options.cookie === 0n ? 'ttl' : 'once');
      // A tree walk: the next subdirectories are listed beside this one (after it, on the wire).
      if (options.cookie === 0n) this.core.link?.walkAhead.entered(dir);
      await listing;
      // Linked: READDIRPLUS shows no attributes that are not the bucket's.
      if (options.withAttributes) await this.core.link?.imports.beforeReaddirPlus(dir, options.cookie, options.maxEntries);
      return readdir(this.core, cred, dir, options);
    });
  }

  commit(_cred: Credentials, ino: number, _offset: number, _count: number): Promise<Wcc> {
    return this.guard('commit', async () => {
      const wcc = await data.commit(this.core, ino);
      if (this.commitHook) await this.commitHook(ino);
      return wcc;
    });
  }

  /**
   * Runs after every COMMIT has made the file durable locally and before it is answered: the
   * opt-in export mode in which COMMIT (fsync, close) returns only once the data is in the
   * bucket. The hook throws FsError to fail the COMMIT.
   */
  setCommitHook(hook: ((ino: number) => Promise<void>) | undefined): void {
    this.commitHook = hook;
  }

  fsstat(ino: number): Promise<FsStat> {
    return this.guard('fsstat', () => {
      this.core.record(ino);
      return this.core.capacity.fsstat(this.core.store.counter('inodeCount'), this.core.maxInodes);
    });
  }

  fsinfo(): FsInfo {
    return {
      maxFileSize: this.core.maxFileSize,
      maxNameBytes: MAX_NAME_BYTES,
      maxLinks: MAX_LINKS,
      timeDeltaNs: 1,
      supportsHardLinks: true,
      supportsSymlinks: true,
      caseInsensitive: false,
      casePreserving: true,
    };
  }

  /** Persists in-memory attributes now (the periodic flush does this on its own). */
  flush(): Promise<void> {
    return this.guard('flush', () => this.core.flush());
  }

  /** Open data-file descriptors (for leak checks and metrics). */
  get openDataFiles(): number {
    return this.core.data.openFiles;
  }

  close(): Promise<void> {
    if (!this.closing) this.closing = this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.timer);
    this.core.link?.close();
    // A listing being merged finishes first (one still waiting on the bucket is dropped).
    const listings = this.core.link?.importer.idle();
    if (listings) await Promise.race([listings, new Promise((r) => setTimeout(r, 2000).unref())]);
    try {
      await this.core.syncAll();
    } finally {
      await this.core.data.close();
      await this.core.store.close();
      await this.release();
    }
  }

  /** Linked: makes sure `dir` reflects the bucket (lazy import, importer.ts). */
  private async listed(dir: number, mode: 'ttl' | 'fresh' | 'once' = 'ttl'): Promise<void> {
    await this.core.link?.importer.ensureListed(dir, mode);
  }

  /** Linked: if `name` in `dir` is a directory, lists it (so that its emptiness is the bucket's). */
  private async listedChild(dir: number, name: string, mode: 'ttl' | 'fresh'): Promise<void> {
    if (!this.core.link) return;
    const entry = findEntry(this.core.store, dir, name);
    if (entry && this.core.inodes.get(entry.ino)?.type === 'dir') await this.listed(entry.ino, mode);
  }

  private async guard<T>(op: string, fn: () => Promise<T> | T): Promise<T> {
    if (this.closing) throw new FsError('EIO', 'file system is closed');
    try {
      return await fn();
    } catch (err) {
      if (err instanceof FsError) throw err;
      this.core.log.error('unexpected failure', { op, err: describeError(err) });
      throw new FsError('EIO', `${op} failed`, { cause: err });
    }
  }
}
