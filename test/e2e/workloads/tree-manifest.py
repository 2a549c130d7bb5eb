#!/usr/bin/env python3
"""Prints a sorted metadata manifest of a tar archive or of a directory, in one format, so that
an extracted tree can be checked against the archive itself (not against another file system):

    path|type|mode|uid|gid|mtime_ns|size|link_target

type is f, d or l; directory sizes and symlink modes are left out (file-system specific);
a symlink's size is the length of its target, as lstat reports it.
  tree-manifest.py tar ARCHIVE [--no-symlink-times]
  tree-manifest.py dir DIR [--no-symlink-times]
"""
import os
import stat
import sys
import tarfile


def line(path, typ, mode, uid, gid, mtime_ns, size, link, symlink_times):
    if typ == "d":
        size = ""
    if typ == "l":
        mode = ""
        if not symlink_times:
            mtime_ns = ""
    return f"{path}|{typ}|{mode}|{uid}|{gid}|{mtime_ns}|{size}|{link}"


def from_tar(archive, symlink_times):
    out = {}
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        by_name = {m.name.rstrip("/"): m for m in members}
        for m in members:
            name = m.name.rstrip("/")
            if m.islnk():  # a hard link: on disk it is its target's inode
                t = by_name[m.linkname.rstrip("/")]
                out[name] = line(name, "f", oct(t.mode & 0o7777), t.uid, t.gid, int(t.mtime) * 10**9, t.size, "", symlink_times)
            elif m.isdir():
                out[name] = line(name, "d", oct(m.mode & 0o7777), m.uid, m.gid, int(m.mtime) * 10**9, 0, "", symlink_times)
            elif m.issym():
                out[name] = line(name, "l", 0, m.uid, m.gid, int(m.mtime) * 10**9, len(os.fsencode(m.linkname)), m.linkname,
                                 symlink_times)
            elif m.isfile():
                out[name] = line(name, "f", oct(m.mode & 0o7777), m.uid, m.gid, int(m.mtime) * 10**9, m.size, "", symlink_times)
            else:
                out[name] = line(name, "?", oct(m.mode & 0o7777), m.uid, m.gid, int(m.mtime) * 10**9, 0, "", symlink_times)
    return out


def from_dir(root, symlink_times):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            full = os.path.join(dirpath, n)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            if stat.S_ISDIR(st.st_mode):
                typ, link = "d", ""
            elif stat.S_ISLNK(st.st_mode):
                typ, link = "l", os.readlink(full)
            elif stat.S_ISREG(st.st_mode):
                typ, link = "f", ""
            else:
                typ, link = "?", ""
            out[rel] = line(rel, typ, oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid, st.st_mtime_ns, st.st_size, link,
                            symlink_times)
    return out


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("tar", "dir"):
        sys.exit(__doc__)
    symlink_times = "--no-symlink-times" not in sys.argv
    entries = (from_tar if sys.argv[1] == "tar" else from_dir)(sys.argv[2], symlink_times)
    for k in sorted(entries):
        print(entries[k])


if __name__ == "__main__":
    main()
