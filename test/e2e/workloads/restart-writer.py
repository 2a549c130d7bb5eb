#!/usr/bin/env python3
"""Writer for the server-restart test: keeps files open across a server kill and restart.

Appends fixed-size records to DIR/records.dat with fsync after each, and (with --bulk) writes
64 KiB chunks to DIR/bulk.dat without fsync, pushing each to the server with
sync_file_range(WRITE|WAIT_AFTER): UNSTABLE WRITEs that are acknowledged but not COMMITted,
which the client must resend if the server's write verifier changes. It also holds an
O_DIRECT read-only fd on DIR/hold.dat (so every check is a READ with the old file handle, not
a page-cache hit) and its cwd in DIR, and every --check-every records reads the held fd and
creates and removes a probe file in the cwd (CREATE/REMOVE with the old directory handle).
After every fsync it publishes the count of acknowledged records in the JSON --progress file
(keep that off the NFS mount).

It runs until it has written --min-records and the --until file exists (so the host decides
when the restarts are over), then, without reopening: verifies every record through the same
fd, fsyncs the bulk file, closes, optionally drops caches, reopens and verifies again. The
final JSON has "ok": true only if no operation failed and all data verified.
"""
import argparse
import ctypes
import errno
import hashlib
import json
import mmap
import os
import sys
import time

CHUNK = 64 << 10
SYNC_FILE_RANGE_WRITE, SYNC_FILE_RANGE_WAIT_AFTER = 2, 4
_libc = ctypes.CDLL(None, use_errno=True)
_libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]


def push_unstable(fd, off, n):
    """Starts writeback of [off, off+n) and waits for it: WRITE without COMMIT on NFS."""
    if _libc.sync_file_range(fd, off, n, SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def direct_read_all(fd, n):
    """Reads n bytes at 0 through an O_DIRECT fd (page-aligned buffer)."""
    size = (n + mmap.PAGESIZE) // mmap.PAGESIZE * mmap.PAGESIZE
    buf = mmap.mmap(-1, size)
    try:
        got = os.preadv(fd, [buf], 0)
        return bytes(buf[:got])
    finally:
        buf.close()


def record(i, size):
    head = b"REC%010d|" % i
    seed = hashlib.sha256(b"record-%d" % i).digest()
    body = (seed * (size // len(seed) + 1))[: size - len(head) - 1]
    return head + body + b"\n"


def chunk(i):
    seed = hashlib.sha256(b"bulk-%d" % i).digest()
    return (seed * (CHUNK // len(seed)))[:CHUNK]


class Writer:
    def __init__(self, a):
        self.a = a
        self.state = {"acked": 0, "bulk_chunks": 0, "errors": [], "done": False, "ok": False,
                      "stalls": [], "pid": os.getpid()}
        self.last_ack_t = time.time()

    def publish(self):
        tmp = self.a.progress + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state, f)
        os.rename(tmp, self.a.progress)

    def error(self, op, e):
        num = getattr(e, "errno", None)
        # 521-528 are the kernel's NFS-internal codes (EBADHANDLE, ...) that can leak to users.
        name = errno.errorcode.get(num) or {521: "EBADHANDLE", 524: "ENOTSUPP", 526: "EBADTYPE"}.get(num)
        self.state["errors"].append({"op": op, "error": str(e), "errno": num, "errname": name,
                                     "acked": self.state["acked"]})
        self.publish()

    def verify_records(self, fd, n, what):
        size = self.a.size
        for i in range(n):
            got = os.pread(fd, size, i * size)
            if got != record(i, size):
                raise AssertionError(f"{what}: record {i} wrong (got {got[:16]!r}..., {len(got)} bytes)")
        end = os.fstat(fd).st_size
        if end != n * size:
            raise AssertionError(f"{what}: size {end}, want {n * size}")

    def verify_bulk(self, fd, n, what):
        for i in range(n):
            if os.pread(fd, CHUNK, i * CHUNK) != chunk(i):
                raise AssertionError(f"{what}: bulk chunk {i} wrong")
        if os.fstat(fd).st_size != n * CHUNK:
            raise AssertionError(f"{what}: bulk size {os.fstat(fd).st_size}, want {n * CHUNK}")

    def run(self):
        a = self.a
        os.chdir(a.dir)
        hold_data = b"held open across restarts\n" * 100
        with open("hold.dat", "wb") as f:
            f.write(hold_data)
            os.fsync(f.fileno())
        try:
            hold = os.open("hold.dat", os.O_RDONLY | os.O_DIRECT)
        except OSError:  # a file system without O_DIRECT (tmpfs): still a held fd
            hold = os.open("hold.dat", os.O_RDONLY)
        fd = os.open("records.dat", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        bfd = os.open("bulk.dat", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644) if a.bulk else -1
        i = 0
        while True:
            if i >= a.min_records and os.path.exists(a.until):
                break
            if i >= a.max_records:
                self.error("loop", f"reached --max-records {a.max_records} before {a.until} appeared")
                return 1
            try:
                op = "write record"
                os.write(fd, record(i, a.size))
                op = "fsync record"
                os.fsync(fd)
                now = time.time()
                if now - self.last_ack_t > 1.0:  # the server was away: note how long
                    self.state["stalls"].append({"after_record": i, "secs": round(now - self.last_ack_t, 2)})
                self.last_ack_t = now
                i += 1
                self.state["acked"] = i
                if bfd >= 0:
                    op = "write bulk (unstable)"
                    n = self.state["bulk_chunks"]
                    os.write(bfd, chunk(n))
                    op = "sync_file_range bulk (WRITE, no COMMIT)"
                    push_unstable(bfd, n * CHUNK, CHUNK)
                    self.state["bulk_chunks"] += 1
                if i % a.check_every == 0:
                    op = "O_DIRECT pread of the held fd"
                    if direct_read_all(hold, len(hold_data) + 1) != hold_data:
                        raise AssertionError("held fd reads wrong data")
                    op = "create + unlink a probe file in the cwd"
                    os.close(os.open("probe.tmp", os.O_CREAT | os.O_WRONLY, 0o644))
                    os.unlink("probe.tmp")
                    op = "stat/listdir cwd"
                    os.stat(".")
                    names = set(os.listdir("."))
                    if not {"records.dat", "hold.dat"} <= names:
                        raise AssertionError(f"listdir of cwd misses files: {sorted(names)[:10]}")
            except (OSError, AssertionError) as e:
                self.error(op, e)
                return 1
            self.publish()
            if a.interval_ms:
                time.sleep(a.interval_ms / 1000)
        return self.finish(fd, bfd, hold, i)

    def finish(self, fd, bfd, hold, n):
        a = self.a
        op = "final verify"
        try:
            op = "fsync bulk"
            if bfd >= 0:
                os.fsync(bfd)
            op = "verify records through the same fd"
            self.verify_records(fd, n, op)
            if bfd >= 0:
                op = "verify bulk through the same fd"
                self.verify_bulk(bfd, self.state["bulk_chunks"], op)
            op = "close"
            for x in (fd, bfd, hold):
                if x >= 0:
                    os.close(x)
            if a.drop_caches:
                op = "drop_caches"
                with open("/proc/sys/vm/drop_caches", "w") as f:
                    f.write("3\n")
            op = "verify records after reopen"
            fd = os.open("records.dat", os.O_RDONLY)
            self.verify_records(fd, n, op)
            os.close(fd)
            if bfd >= 0:
                op = "verify bulk after reopen"
                bfd = os.open("bulk.dat", os.O_RDONLY)
                self.verify_bulk(bfd, self.state["bulk_chunks"], op)
                os.close(bfd)
        except (OSError, AssertionError) as e:
            self.error(op, e)
            return 1
        self.state["done"] = True
        self.state["ok"] = not self.state["errors"]
        self.publish()
        return 0 if self.state["ok"] else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", help="directory to write in (the NFS mount)")
    p.add_argument("--progress", required=True, help="JSON progress file (not on the mount)")
    p.add_argument("--until", required=True, help="stop once this file exists")
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--min-records", type=int, default=200)
    p.add_argument("--max-records", type=int, default=1_000_000)
    p.add_argument("--interval-ms", type=float, default=0)
    p.add_argument("--check-every", type=int, default=20)
    p.add_argument("--bulk", action="store_true", help="also write unstable 64 KiB chunks to bulk.dat")
    p.add_argument("--drop-caches", action="store_true", help="drop caches before the re-read (root, VM)")
    a = p.parse_args()
    w = Writer(a)
    try:
        rc = w.run()
    except Exception as e:  # report anything unexpected through the progress file too
        w.error("unexpected", repr(e))
        rc = 1
    print(json.dumps(w.state), flush=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
