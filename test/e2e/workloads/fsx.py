#!/usr/bin/env python3
"""Random-operation data-integrity checker (in the spirit of fsx).

Runs seeded random operations on one file -- pwrite, pread, truncate (shrink and extend),
mmap read, mmap modify + msync, fsync, close/reopen, O_DIRECT reads, append -- and checks the
file against an in-memory model after every read, every size change, and at the end.
Runs on any directory (local disk or an NFS mount); the same seed gives the same ops.

On a mismatch it prints the seed, the failing op, the first differing offset, the bytes
expected and read, and the last ops before it, then exits 1. Exit 0 means every check held.
"""
import argparse
import mmap
import os
import random
import sys
import time

PAGE = mmap.PAGESIZE


class Mismatch(Exception):
    pass


def hexsnip(b, n=32):
    return b[:n].hex(" ") + (" ..." if len(b) > n else "")


class Fsx:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.path = os.path.join(args.dir, f"fsx.{args.seed}.dat")
        self.model = bytearray()
        self.history = []  # (op number, description)
        self.counts = {}
        self.opno = 0
        self.fd = -1
        self.can_direct = args.direct

    # ---- helpers -------------------------------------------------------------------------
    def log(self, desc):
        self.history.append((self.opno, desc))
        if len(self.history) > self.args.history:
            del self.history[0]
        if self.args.verbose:
            print(f"{self.opno:6d} {desc}", flush=True)

    def open(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)

    def reopen(self):
        os.close(self.fd)
        self.open()

    def check_bytes(self, what, off, got):
        want = bytes(self.model[off:off + len(got)])
        if len(want) != len(got):
            self.fail(f"{what}: short/long read at {off}: got {len(got)} bytes, model has {len(want)}")
        if got != want:
            i = next(k for k in range(len(got)) if got[k] != want[k])
            self.fail(
                f"{what}: data mismatch at file offset {off + i} (op range starts at {off}, "
                f"len {len(got)})\n  expected: {hexsnip(want[i:])}\n  got:      {hexsnip(got[i:])}"
            )

    def check_size(self, what):
        st = os.fstat(self.fd)
        if st.st_size != len(self.model):
            self.fail(f"{what}: file size {st.st_size}, model size {len(self.model)}")

    def fail(self, msg):
        raise Mismatch(msg)

    def rand_range(self, limit, maxlen):
        off = self.rng.randrange(0, max(1, limit))
        ln = self.rng.randint(1, maxlen)
        return off, ln

    # ---- operations ----------------------------------------------------------------------
    def op_write(self):
        off, ln = self.rand_range(self.args.maxlen, self.args.maxop)
        data = self.rng.randbytes(ln)
        self.log(f"pwrite off={off} len={ln}")
        n = os.pwrite(self.fd, data, off)
        if n != ln:
            self.fail(f"pwrite returned {n}, wanted {ln}")
        if off > len(self.model):
            self.model.extend(b"\0" * (off - len(self.model)))
        self.model[off:off + ln] = data
        self.check_size("after pwrite")

    def op_append(self):
        ln = self.rng.randint(1, self.args.maxop // 4 + 1)
        if len(self.model) + ln > self.args.maxlen * 2:
            return self.op_truncate_shrink()
        data = self.rng.randbytes(ln)
        self.log(f"append len={ln} (at {len(self.model)})")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        self.model.extend(data)
        self.check_size("after append")

    def op_read(self):
        size = len(self.model)
        off, ln = self.rand_range(size + 16, self.args.maxop)
        self.log(f"pread off={off} len={ln} (size {size})")
        got = os.pread(self.fd, ln, off)
        self.check_bytes("pread", off, got)

    def op_direct_read(self):
        size = len(self.model)
        off, ln = self.rand_range(size + 16, self.args.maxop)
        off -= off % 4096  # O_DIRECT wants aligned offsets and lengths on local disks
        ln = (ln + 4095) // 4096 * 4096
        self.log(f"O_DIRECT pread off={off} len={ln} (size {size})")
        try:
            dfd = os.open(self.path, os.O_RDONLY | os.O_DIRECT)
        except OSError as e:  # tmpfs and some others refuse O_DIRECT: stop trying
            self.log(f"O_DIRECT unavailable ({e.strerror}); disabled")
            self.can_direct = False
            return
        try:
            buf = mmap.mmap(-1, ln)  # page-aligned buffer
            n = os.preadv(dfd, [buf], off)
            got = bytes(buf[:n])
            buf.close()
        finally:
            os.close(dfd)
        self.check_bytes("O_DIRECT pread", off, got)

    def op_truncate_shrink(self):
        new = self.rng.randrange(0, len(self.model) + 1)
        self.log(f"ftruncate shrink {len(self.model)} -> {new}")
        os.ftruncate(self.fd, new)
        del self.model[new:]
        self.check_size("after shrink")

    def op_truncate_extend(self):
        new = len(self.model) + self.rng.randint(1, self.args.maxop)
        self.log(f"ftruncate extend {len(self.model)} -> {new}")
        os.ftruncate(self.fd, new)
        self.model.extend(b"\0" * (new - len(self.model)))
        self.check_size("after extend")

    def map_window(self):
        """A page-aligned window inside the current file (mmap cannot extend a file)."""
        size = len(self.model)
        start = self.rng.randrange(0, size) // PAGE * PAGE
        ln = self.rng.randint(1, min(size - start, self.args.maxop))
        return start, ln

    def op_mapread(self):
        if len(self.model) == 0:
            return self.op_write()
        start, ln = self.map_window()
        self.log(f"mmap read off={start} len={ln}")
        with mmap.mmap(self.fd, ln, mmap.MAP_SHARED, mmap.PROT_READ, offset=start) as m:
            got = m[:ln]
        self.check_bytes("mmap read", start, got)

    def op_mapwrite(self):
        if len(self.model) == 0:
            return self.op_write()
        start, ln = self.map_window()
        sub = self.rng.randrange(0, ln)
        wl = self.rng.randint(1, ln - sub)
        data = self.rng.randbytes(wl)
        self.log(f"mmap write off={start + sub} len={wl} (window {start}+{ln}) + msync")
        with mmap.mmap(self.fd, ln, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=start) as m:
            m[sub:sub + wl] = data
            m.flush()  # msync(MS_SYNC)
        self.model[start + sub:start + sub + wl] = data
        self.check_size("after mmap write")

    def op_fsync(self):
        self.log("fsync")
        os.fsync(self.fd)

    def op_reopen(self):
        self.log("close + reopen")
        self.reopen()
        self.check_size("after reopen")

    def op_dropcache(self):
        self.log("fsync + close + drop_caches + reopen")
        os.fsync(self.fd)
        os.close(self.fd)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        self.open()
        self.check_size("after drop_caches")

    def full_check(self, what):
        got = bytearray()
        while len(got) < len(self.model) + 1:
            chunk = os.pread(self.fd, 1 << 20, len(got))
            if not chunk:
                break
            got += chunk
        self.check_bytes(what, 0, bytes(got))
        if len(got) != len(self.model):
            self.fail(f"{what}: file has {len(got)} bytes, model {len(self.model)}")

    # ---- driver --------------------------------------------------------------------------
    def table(self):
        t = [
            (self.op_write, 25), (self.op_append, 5), (self.op_read, 20),
            (self.op_truncate_shrink, 4), (self.op_truncate_extend, 4),
            (self.op_fsync, 5), (self.op_reopen, 4),
        ]
        if not self.args.no_mmap:
            t += [(self.op_mapread, 8), (self.op_mapwrite, 8)]
        if self.can_direct:
            t += [(self.op_direct_read, 6)]
        if self.args.drop_caches:
            t += [(self.op_dropcache, 1)]
        return t

    def run(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.open()
        t0 = time.time()
        try:
            for self.opno in range(1, self.args.ops + 1):
                table = self.table()
                fn = self.rng.choices([f for f, _ in table], weights=[w for _, w in table])[0]
                self.counts[fn.__name__] = self.counts.get(fn.__name__, 0) + 1
                fn()
                if self.args.check_every and self.opno % self.args.check_every == 0:
                    self.full_check(f"full check after op {self.opno}")
            self.opno += 1
            self.log("final: fsync, close, reopen, full read")
            os.fsync(self.fd)
            self.reopen()
            self.full_check("final full check")
        except (Mismatch, OSError) as e:
            kind = "MISMATCH" if isinstance(e, Mismatch) else f"ERROR {type(e).__name__}"
            print(f"FAIL fsx {kind} seed={self.args.seed} op={self.opno} file={self.path}", flush=True)
            print(f"  {e}", flush=True)
            print("  last ops:", flush=True)
            for n, d in self.history[-20:]:
                print(f"    {n:6d} {d}", flush=True)
            return 1
        finally:
            if self.fd >= 0:
                try:
                    os.close(self.fd)
                except OSError:
                    pass
        counts = " ".join(f"{k[3:]}={v}" for k, v in sorted(self.counts.items()))
        print(f"PASS fsx seed={self.args.seed} ops={self.args.ops} final_size={len(self.model)} "
              f"secs={time.time() - t0:.1f} {counts}", flush=True)
        if not self.args.keep:
            os.unlink(self.path)
        return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", help="directory to work in (file fsx.SEED.dat is created there)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: time-based, printed)")
    p.add_argument("--ops", type=int, default=5000)
    p.add_argument("--maxlen", type=int, default=1 << 20, help="largest write offset")
    p.add_argument("--maxop", type=int, default=64 << 10, help="largest single read/write")
    p.add_argument("--no-mmap", action="store_true")
    p.add_argument("--direct", action="store_true", help="include O_DIRECT reads")
    p.add_argument("--drop-caches", action="store_true",
                   help="include fsync+drop_caches+reopen ops (root; use inside a VM only)")
    p.add_argument("--check-every", type=int, default=0, help="full-file check every N ops")
    p.add_argument("--history", type=int, default=50)
    p.add_argument("--keep", action="store_true", help="keep the file on success")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    if args.seed is None:
        args.seed = int(time.time() * 1000) % 1_000_000_007
    print(f"fsx seed={args.seed} ops={args.ops} dir={args.dir}", flush=True)
    sys.exit(Fsx(args).run())


if __name__ == "__main__":
    main()
