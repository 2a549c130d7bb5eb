// FakeMounter: an in-memory mount table for tests of the CSI node service. It records every
// call in `actions`, models bind mounts the way the kernel reports them (a bind of a directory
// inside a mount shares that mount's device and source, with `root` set to the subtree), and
// fails only where a test says so in `failOn` — keyed by operation, or operation and target —
// never on magic substrings in paths.
import path from 'node:path';
import { findMount, MountError, NotMountedError, type Mounter } from './mounter';
import type { MountInfo } from './mountinfo';

export type MountOperation = 'mount' | 'unmount' | 'isMountPoint' | 'list';

export interface MountAction {
  op: 'mount' | 'unmount';
  source?: string;
  target: string;
  fstype?: string;
  options?: string[];
}

export class FakeMounter implements Mounter {
  readonly actions: MountAction[] = [];
  /** Errors to throw: key "mount" (every mount) or "mount:/the/target" (that target only). */
  readonly failOn = new Map<string, Error>();
  private readonly table: MountInfo[] = [];
  private nextId = 100;
  private nextDevice = 50;

  async mount(source: string, target: string, fstype: string, options: string[]): Promise<void> {
    this.maybeFail('mount', target);
    this.actions.push({ op: 'mount', source, target, fstype, options: [...options] });
    const perMount = [options.includes('ro') ? 'ro' : 'rw'];
    if (options.includes('bind')) {
      const parent = this.containingMount(source);
      if (!parent) throw new MountError(`bind source ${source} is not on any mount the fake knows`);
      const rel = path.relative(parent.target, source);
      this.table.push({
        ...parent,
        id: this.nextId++,
        parentId: parent.id,
        root: path.posix.join(parent.root, rel === '' ? '/' : `/${rel}`),
        target,
        options: perMount,
      });
      return;
    }
    this.table.push({
      id: this.nextId++,
      parentId: 1,
      device: `0:${this.nextDevice++}`,
      root: '/',
      target,
      options: perMount,
      fstype,
      source,
      superOptions: options.filter((o) => o !== 'ro' && o !== 'rw'),
    });
  }

  async unmount(target: string): Promise<void> {
    this.maybeFail('unmount', target);
    const index = this.table.map((m) => m.target).lastIndexOf(target);
    if (index < 0) throw new NotMountedError(target);
    this.actions.push({ op: 'unmount', target });
    this.table.splice(index, 1);
  }

  async isMountPoint(target: string): Promise<boolean> {
    this.maybeFail('isMountPoint', target);
    return findMount(this.table, target) !== undefined;
  }

  async list(): Promise<MountInfo[]> {
    this.maybeFail('list');
    return this.table.map((m) => ({ ...m, options: [...m.options], superOptions: [...m.superOptions] }));
  }

  /** Puts an entry straight into the table, as if something else had mounted it. */
  addExisting(entry: Partial<MountInfo> & { target: string; source: string }): void {
    this.table.push({
      id: this.nextId++,
      parentId: 1,
      device: `0:${this.nextDevice++}`,
      root: '/',
      options: ['rw'],
      fstype: 'nfs',
      superOptions: [],
      ...entry,
    });
  }

  /** The mount that contains `p` (the one with the longest target that is a prefix of it). */
  private containingMount(p: string): MountInfo | undefined {
    let best: MountInfo | undefined;
    for (const m of this.table) {
      const inside = p === m.target || p.startsWith(m.target.endsWith('/') ? m.target : `${m.target}/`);
      if (inside && (!best || m.target.length >= best.target.length)) best = m;
    }
    return best;
  }

  private maybeFail(op: MountOperation, target?: string): void {
    const err = (target !== undefined ? this.failOn.get(`${op}:${target}`) : undefined) ?? this.failOn.get(op);
    if (err) throw err;
  }
}
