// Parses /proc/self/mountinfo (proc(5)). One line per mount:
//
//   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//   (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)    (10)         (11)
//
// (7) is zero or more optional fields ended by the "-" separator (8). Paths and the source
// escape space, tab, newline and backslash as octal (\040 \011 \012 \134), so a target of
// "/var/lib/kubelet/pods/x/volumes/my vol" arrives as ".../my\040vol".
import { readFile } from 'node:fs/promises';

export interface MountInfo {
  id: number;
  parentId: number;
  /** "major:minor" of the file system; equal for a bind mount and its source. */
  device: string;
  /** The directory of the file system mounted here ("/" unless it is a bind of a subtree). */
  root: string;
  /** Where it is mounted. */
  target: string;
  /** Per-mount options (ro/rw, nosuid, ...). */
  options: string[];
  fstype: string;
  /** What was mounted ("127.0.0.1:/vol-abc" for NFS, the device for block file systems). */
  source: string;
  /** Per-superblock options (for NFS: vers, port, addr, ...). */
  superOptions: string[];
}

/** Undoes the kernel's octal escapes (\NNN) in mountinfo fields. */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses one mountinfo line; returns undefined for a line that does not have the format. */
export function parseMountInfoLine(line: string): MountInfo | undefined {
  const fields = line.trim().split(' ');
  const sep = fields.indexOf('-', 6);
  if (fields.length < 10 || sep < 6 || fields.length < sep + 3) return undefined;
  const id = Number(fields[0]);
  const parentId = Number(fields[1]);
  if (!Number.isInteger(id) || !Number.isInteger(parentId)) return undefined;
  return {
    id,
    parentId,
    device: fields[2] as string,
    root: unescapeMountField(fields[3] as string),
    target: unescapeMountField(fields[4] as string),
    options: (fields[5] as string).split(','),
    fstype: unescapeMountField(fields[sep + 1] as string),
    source: unescapeMountField(fields[sep + 2] as string),
    superOptions: (fields[sep + 3] ?? '').split(',').filter(Boolean),
  };
}

export function parseMountInfo(text: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = parseMountInfoLine(line);
    if (m) mounts.push(m);
  }
  return mounts;
}

export async function readMountInfo(path = '/proc/self/mountinfo'): Promise<MountInfo[]> {
  return parseMountInfo(await readFile(path, 'utf8'));
}
