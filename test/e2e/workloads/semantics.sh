#!/bin/sh
# POSIX semantics checks, runnable on any directory (local disk or an NFS mount), as root.
#   semantics.sh DIR
# Prints "ok - ..." or "FAIL - ..." per check and a summary; exits 1 if any check failed.
# Uses uid/gid 1000 (via setpriv) for the checks that need another user.
set -u
export LC_ALL=C TZ=UTC
DIR=${1:?usage: semantics.sh DIR}
PY=/usr/bin/python3
T="$DIR/semantics.$$"
CHECKS=0; FAILS=0

ok()   { CHECKS=$((CHECKS + 1)); echo "ok - $1"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL - $1"; }
# eq DESC GOT WANT
eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got '$2', want '$3'"; fi; }
# errno_of PYTHON-STATEMENT -> OK or the errno name (EINVAL, ...)
errno_of() {
  $PY -c "
import os, sys, errno
try:
    $1
    print('OK')
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))"
}
# expect_errno DESC WANT(one of, |-separated) PYTHON-STATEMENT
expect_errno() {
  got=$(errno_of "$3")
  case "|$2|" in *"|$got|"*) ok "$1 ($got)";; *) fail "$1: got $got, want $2";; esac
}
as_user() { setpriv --reuid=1000 --regid=1000 --clear-groups -- "$@"; }
# as_user_errno DESC WANT PYTHON-STATEMENT: like expect_errno, as uid 1000
as_user_errno() {
  got=$(as_user $PY -c "
import os, errno
try:
    $3
    print('OK')
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))")
  case "|$2|" in *"|$got|"*) ok "$1 ($got)";; *) fail "$1: got $got, want $2";; esac
}

rm -rf "$T"; mkdir -p "$T" && chmod 0777 "$T" && cd "$T" || { echo "FAIL - cannot create $T"; exit 1; }
FSTYPE=$(stat -f -c %T .)
echo "# semantics in $T (fs type $FSTYPE)"
umask 022

# ---- rename ------------------------------------------------------------------------------
echo old > dst; echo new > src; ino=$(stat -c %i src)
mv -f src dst
eq "rename over existing file: content" "$(cat dst)" "new"
eq "rename over existing file: inode follows source" "$(stat -c %i dst)" "$ino"
[ ! -e src ] && ok "rename over existing file: source gone" || fail "rename over existing file: source still exists"

mkdir -p da/sub db; echo x > da/sub/f
expect_errno "rename dir over empty dir" "OK" "os.rename('da', 'db')"
eq "rename dir over empty dir: content moved" "$(cat db/sub/f 2>&1)" "x"
[ ! -e da ] && ok "rename dir over empty dir: source gone" || fail "rename dir over empty dir: source still exists"
mkdir -p dc; touch dc/keep
expect_errno "rename dir over non-empty dir fails" "ENOTEMPTY|EEXIST" "os.rename('db', 'dc')"
expect_errno "rename dir into its own subtree fails" "EINVAL" "os.rename('db', 'db/sub/inside')"
touch plainfile
expect_errno "rename file over dir fails" "EISDIR" "os.rename('plainfile', 'dc')"
expect_errno "rename dir over file fails" "ENOTDIR" "os.rename('dc', 'plainfile')"
ln plainfile plainlink
expect_errno "rename onto another link of the same file is a no-op" "OK" "os.rename('plainfile', 'plainlink')"
[ -e plainfile ] && [ -e plainlink ] && ok "rename same-inode: both names remain" || fail "rename same-inode: a name vanished"
echo old-target > ot; echo new-source > os_; exec 6<ot; mv -f os_ ot
eq "rename over an open target: new name has the source" "$(cat ot)" "new-source"
eq "rename over an open target: the open fd still reads the old file" "$(cat <&6)" "old-target"
exec 6<&-
mkdir -p r1 r2; echo moved > r1/f; exec 4<r1/f; mv r1/f r2/g
eq "rename across dirs keeps an open fd valid" "$(cat <&4)" "moved"; exec 4<&-
eq "rename across dirs: new name readable" "$(cat r2/g)" "moved"

# ---- hard links --------------------------------------------------------------------------
echo data > h1
eq "new file has 1 link" "$(stat -c %h h1)" "1"
ln h1 h2; ln h1 h3
eq "after 2 links: nlink 3" "$(stat -c %h h1)" "3"
eq "link shares the inode" "$(stat -c %i h3)" "$(stat -c %i h1)"
rm h2
eq "after unlink: nlink 2" "$(stat -c %h h3)" "2"
echo more >> h3
eq "write through one link is seen through the other" "$(cat h1)" "$(printf 'data\nmore')"
mkdir -p nl/a nl/b
eq "directory nlink is 2 + subdirs" "$(stat -c %h nl)" "4"
rmdir nl/b
eq "directory nlink after rmdir" "$(stat -c %h nl)" "3"
expect_errno "hard link to a directory fails" "EPERM" "os.link('nl', 'nl2')"

# ---- symlinks ----------------------------------------------------------------------------
echo target-data > tgt; ln -s tgt sl; ln -s /no/such/path dangling; mkdir -p sdir; ln -s sdir sldir
eq "readlink" "$(readlink sl)" "tgt"
eq "lstat type is symlink" "$(stat -c %F sl)" "symbolic link"
eq "read through symlink" "$(cat sl)" "target-data"
eq "dangling symlink readlink" "$(readlink dangling)" "/no/such/path"
[ -L dangling ] && [ ! -e dangling ] && ok "dangling symlink exists as a link only" || fail "dangling symlink state wrong"
touch sldir/inside
[ -e sdir/inside ] && ok "create through a symlinked dir" || fail "create through a symlinked dir"
long=$(printf 'p%.0s' $(seq 1 1000)); ln -s "$long" longlink
eq "1000-byte symlink target" "$(readlink longlink | wc -c)" "1001"

# ---- modes and ownership -----------------------------------------------------------------
touch m1; eq "create honours umask 022" "$(stat -c %a m1)" "644"
mkdir -m 0700 md; eq "mkdir -m 0700" "$(stat -c %a md)" "700"
chmod 0640 m1; eq "chmod 0640" "$(stat -c %a m1)" "640"
chmod 4755 m1; eq "chmod setuid" "$(stat -c %a m1)" "4755"
chmod 1777 md; eq "chmod sticky dir" "$(stat -c %a md)" "1777"
expect_errno "O_EXCL create of a new file" "OK" "os.close(os.open('ex', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))"
eq "O_EXCL create mode" "$(stat -c %a ex)" "600"
expect_errno "O_EXCL create of an existing file fails" "EEXIST" "os.open('ex', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)"
touch own; chown 1000:1000 own
eq "chown by root" "$(stat -c %u:%g own)" "1000:1000"
chown 0:0 own; eq "chown back by root" "$(stat -c %u:%g own)" "0:0"
echo secret > rootonly; chmod 0600 rootonly; echo pub > rootpub; chmod 0644 rootpub
mkdir -m 0755 rootdir
as_user_errno "other user reads a 0600 root file" "EACCES" "open('rootonly').read()"
as_user_errno "other user reads a 0644 root file" "OK" "open('rootpub').read()"
as_user_errno "other user writes a 0644 root file" "EACCES" "open('rootpub', 'a').write('x')"
as_user_errno "other user creates in a 0755 root dir" "EACCES" "open('rootdir/f', 'w')"
as_user_errno "other user chmods a root file" "EPERM" "os.chmod('rootpub', 0o777)"
as_user_errno "other user chowns a root file" "EPERM" "os.chown('rootpub', 1000, 1000)"
as_user_errno "other user creates in a 0777 dir" "OK" "open('mine', 'w').write('hi')"
eq "file created by uid 1000 is owned by 1000:1000" "$(stat -c %u:%g mine)" "1000:1000"
as_user_errno "owner chmods own file" "OK" "os.chmod('mine', 0o600)"
eq "owner chmod result" "$(stat -c %a mine)" "600"
as_user_errno "owner gives own file to root" "EPERM" "os.chown('mine', 0, -1)"
as_user_errno "owner chgrps to a group it is not in" "EPERM" "os.chown('mine', -1, 0)"
chmod 0 mine
as_user_errno "owner cannot read own mode-000 file" "EACCES" "open('mine').read()"
eq "root reads a mode-000 file" "$(cat mine)" "hi"
touch md/rootfile
as_user_errno "sticky dir: other user cannot delete root's file" "EPERM|EACCES" "os.unlink('md/rootfile')"
as_user_errno "sticky dir: other user creates" "OK" "open('md/userfile', 'w')"
as_user_errno "sticky dir: owner deletes own file" "OK" "os.unlink('md/userfile')"

# ---- special files -----------------------------------------------------------------------
mkfifo fifo
eq "mkfifo type" "$(stat -c %F fifo)" "fifo"
(echo through-fifo > fifo &) ; eq "fifo passes data" "$(cat fifo)" "through-fifo"

# ---- truncate / append / times -----------------------------------------------------------
printf 'hello world' > tr
truncate -s 5 tr; eq "truncate shrink" "$(cat tr)" "hello"
truncate -s 1M tr; eq "truncate extend size" "$(stat -c %s tr)" "1048576"
eq "extended region reads as zeros" "$(tail -c +6 tr | cmp -s - /dev/zero -n 1048571; echo $?)" "0"
: > tr; eq "O_TRUNC empties" "$(stat -c %s tr)" "0"
$PY -c "
import os
fd = os.open('big', os.O_CREAT | os.O_WRONLY, 0o644); os.pwrite(fd, b'Z', 5 << 30); os.close(fd)"
eq "sparse write at 5 GiB: size" "$(stat -c %s big)" "5368709121"
eq "sparse write at 5 GiB: byte" "$($PY -c "
import os; fd = os.open('big', os.O_RDONLY); print(os.pread(fd, 2, (5 << 30) - 1))")" "b'\\x00Z'"
rm -f big
echo a > ap; echo b >> ap; eq "append >>" "$(cat ap)" "$(printf 'a\nb')"
: > ap2
for w in 1 2; do (for i in $(seq 1 200); do echo "writer$w line $i" >> ap2; done) & done; wait
eq "concurrent O_APPEND writers: line count" "$(wc -l < ap2)" "400"
eq "concurrent O_APPEND writers: no torn lines" "$(grep -cvE '^writer[12] line [0-9]+$' ap2)" "0"
touch -d '2001-02-03 04:05:06.123456789' tm
eq "touch -d mtime with nanoseconds" "$(stat -c %y tm)" "2001-02-03 04:05:06.123456789 +0000"
touch -a -d '2002-01-01 00:00:00' tm
eq "touch -a sets atime" "$(stat -c %x tm)" "2002-01-01 00:00:00.000000000 +0000"
eq "touch -a leaves mtime" "$(stat -c %Y tm)" "981173106"
before=$(date +%s); touch tm; after=$(stat -c %Y tm)
[ "$after" -ge $((before - 2)) ] && [ "$after" -le $((before + 5)) ] && ok "touch sets mtime to now" || fail "touch sets mtime to now: $after vs $before"
mkdir -p dm; touch -d '2001-01-01' dm; touch dm/new
[ "$(stat -c %Y dm)" -gt 978307200 ] && ok "creating a file updates the dir mtime" || fail "creating a file updates the dir mtime: $(stat -c %y dm)"
echo x > wm; touch -d '2001-01-01' wm; echo y >> wm
[ "$(stat -c %Y wm)" -gt 978307200 ] && ok "writing updates mtime" || fail "writing updates mtime: $(stat -c %y wm)"

# ---- unlink of an open file (NFS silly rename) --------------------------------------------
mkdir -p sr; printf 'still here' > sr/open
exec 3<sr/open; exec 5>>sr/open
rm sr/open
[ ! -e sr/open ] && ok "unlinked open file: name gone" || fail "unlinked open file: name still there"
eq "unlinked open file: data readable through the fd" "$(cat <&3)" "still here"
printf ' and more' >&5
eq "unlinked open file: writable through the fd" "$(cat /proc/$$/fd/3 2>/dev/null || $PY -c "
import os; print(os.pread(3, 100, 0).decode(), end='')")" "still here and more"
if [ "$FSTYPE" = nfs ]; then
  n=$(ls -A sr | grep -c '^\.nfs'); eq "NFS: one .nfs silly-rename file while open" "$n" "1"
fi
exec 3<&- 5>&-
sleep 1
eq "after close: directory empty (silly-renamed file removed)" "$(ls -A sr | wc -l)" "0"

# ---- errors on directories ---------------------------------------------------------------
mkdir -p ne; touch ne/f
expect_errno "rmdir of non-empty dir" "ENOTEMPTY|EEXIST" "os.rmdir('ne')"
expect_errno "mkdir of existing name" "EEXIST" "os.mkdir('ne')"
expect_errno "unlink of a dir" "EISDIR|EPERM" "os.unlink('ne')"
expect_errno "rmdir of a file" "ENOTDIR" "os.rmdir('ne/f')"
expect_errno "lookup under a file" "ENOTDIR" "os.stat('ne/f/x')"
expect_errno "open missing file" "ENOENT" "open('ne/missing')"
expect_errno "255-byte name" "OK" "open('$(printf 'n%.0s' $(seq 1 255))', 'w')"
expect_errno "256-byte name" "ENAMETOOLONG" "open('$(printf 'n%.0s' $(seq 1 256))', 'w')"
expect_errno "names with spaces and UTF-8" "OK" "open('sp ace \u00e9\u00e8 \u6f22\u5b57', 'w').write('u')"
eq "UTF-8 name listed" "$(ls | grep -c 'sp ace')" "1"

# ---- readdir -----------------------------------------------------------------------------
mkdir rd
$PY -c "
import os
for i in range(1000):
    open('rd/entry-%04d-%s' % (i, 'x' * (i % 97)), 'w').close()"
total=$(ls -f rd | grep -v '^\.\.\?$' | wc -l)
dups=$(ls -f rd | sort | uniq -d | wc -l)
eq "readdir of 1000 entries: count" "$total" "1000"
eq "readdir of 1000 entries: no duplicates" "$dups" "0"
eq "readdir of 1000 entries: exact names" "$($PY -c "
import os
want = {'entry-%04d-%s' % (i, 'x' * (i % 97)) for i in range(1000)}
got = os.listdir('rd')
print('same' if set(got) == want and len(got) == 1000 else 'missing=%d extra=%d' % (len(want - set(got)), len(set(got) - want)))")" "same"
eq "ls -l (stat per entry) lists 1000" "$(ls -l rd | grep -c '^-')" "1000"
$PY -c "
import os
for i in range(0, 1000, 2):
    os.unlink('rd/entry-%04d-%s' % (i, 'x' * (i % 97)))"
eq "readdir after deleting half" "$(ls -f rd | grep -v '^\.\.\?$' | sort -u | wc -l)" "500"

statfs=$(stat -f -c '%b %a' .)
set -- $statfs
[ "$1" -gt 0 ] && ok "statfs reports blocks ($statfs)" || fail "statfs reports blocks: $statfs"

cd /; rm -rf "$T" 2>/dev/null
[ ! -e "$T" ] && ok "rm -rf of the test tree" || fail "rm -rf of the test tree left $(find "$T" | head -5)"

echo "# semantics: $CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ]
