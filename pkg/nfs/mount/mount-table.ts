// Who has mounted what, for DUMP (RFC 1813 §5.2.2). Purely informational: NFSv3 is stateless,
// a client that never sends UMNT keeps working, and the list is lost on restart, as with
// every server's rmtab. Its size is bounded by clients × exports, since only successful MNTs
// are recorded.

export interface MountEntry {
  host: string;
  path: string;
}

export class MountTable {
  /** host → paths mounted by it, in insertion order. */
  private readonly byHost = new Map<string, Set<string>>();

  add(host: string, path: string): void {
    let paths = this.byHost.get(host);
    if (!paths) {
      paths = new Set();
      this.byHost.set(host, paths);
    }
    paths.add(path);
  }

  remove(host: string, path: string): void {
    const paths = this.byHost.get(host);
    if (!paths) return;
    paths.delete(path);
    if (paths.size === 0) this.byHost.delete(host);
  }

  removeHost(host: string): void {
    this.byHost.delete(host);
  }

  list(): MountEntry[] {
    const out: MountEntry[] = [];
    for (const [host, paths] of this.byHost) for (const path of paths) out.push({ host, path });
    return out;
  }
}
