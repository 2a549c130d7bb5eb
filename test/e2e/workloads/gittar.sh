#!/bin/sh
# tar and git on a directory, checked against the archive itself and a local reference.
#   gittar.sh prepare TARBALL REF_DIR              build the reference (on local disk)
#   gittar.sh run TARBALL TARGET_DIR REF_DIR       run on TARGET (prepares REF_DIR if needed)
# 1. tar x onto TARGET; diff -r against the reference extraction (contents, types, link
#    targets); every entry's mode, owner, mtime (ns), size and link target must equal the
#    archive's (tree-manifest.py); symlink mtimes (lutimes) are a separate check.
# 2. git init + add -A + commit (fixed author/dates); the commit id must equal the reference
#    one (same tree = same bytes, modes and links); git fsck --full --strict; status clean;
#    repack -a -d + fsck; a local clone (hard-linked objects) checks out identical files.
# Prints "ok - ..." / "FAIL - ..." per check; exits 1 if any failed.
set -u
export LC_ALL=C TZ=UTC
HERE=$(dirname "$(realpath "$0")")
PY=${PY:-/usr/bin/python3}
usage() { echo "usage: gittar.sh prepare TARBALL REF_DIR | gittar.sh run TARBALL TARGET_DIR REF_DIR" >&2; exit 2; }
MODE=${1:-}; [ $# -ge 3 ] || usage
TARBALL=$(realpath "$2")
export GIT_AUTHOR_NAME=e2e GIT_AUTHOR_EMAIL=e2e@example.com GIT_AUTHOR_DATE='2020-01-01T00:00:00Z'
export GIT_COMMITTER_NAME=e2e GIT_COMMITTER_EMAIL=e2e@example.com GIT_COMMITTER_DATE='2020-01-01T00:00:00Z'
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
git_import() { # git_import DIR: init, extract, add, commit; prints the commit id
  mkdir -p "$1" && cd "$1" && git init -q . && tar xf "$TARBALL" && git add -A &&
    git -c commit.gpgsign=false commit -q -m import && git rev-parse HEAD
}
prepare() { # prepare REF_DIR: reference extraction, repo and commit id, once
  [ -s "$1/commit" ] && return 0
  rm -rf "$1" && mkdir -p "$1/tarx" && tar xf "$TARBALL" -C "$1/tarx" &&
    git_import "$1/repo" > "$1/commit.tmp" && mv "$1/commit.tmp" "$1/commit"
}

case "$MODE" in
prepare) prepare "$(realpath -m "$3")"; exit $? ;;
run) [ $# -ge 4 ] || usage ;;
*) usage ;;
esac
TGT=$(realpath "$3")/gittar.$$
REF=$(realpath -m "$4")
CHECKS=0; FAILS=0
ok()   { CHECKS=$((CHECKS + 1)); echo "ok - $1"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL - $1"; }
eq()   { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got '$2', want '$3'"; fi; }
step() { STEP_T0=$(date +%s.%N); echo "# $1"; }
took() { echo "# ... took $(echo "$(date +%s.%N) $STEP_T0" | awk '{printf "%.1f", $1 - $2}') s"; }
run() { # run DESC CMD...: ok if the command exits 0, else FAIL with its output head
  desc=$1; shift
  if out=$("$@" 2>&1); then ok "$desc"; else fail "$desc (exit $?): $(echo "$out" | head -12)"; fi
}

prepare "$REF" || { echo "FAIL - cannot prepare the reference in $REF"; exit 1; }
rm -rf "$TGT"; mkdir -p "$TGT" || { echo "FAIL - cannot create $TGT"; exit 1; }
echo "# gittar: $(tar tf "$TARBALL" | wc -l) entries from $TARBALL; target $TGT"

step "tar x onto the target"
mkdir -p "$TGT/tarx"
run "tar x onto the target" tar xf "$TARBALL" -C "$TGT/tarx"
took
step "compare the extracted tree"
run "diff -r against the reference (contents, file types, symlink targets)" diff -r --no-dereference "$REF/tarx" "$TGT/tarx"
$PY "$HERE/tree-manifest.py" tar "$TARBALL" --no-symlink-times > "$TGT.want" 2>&1
$PY "$HERE/tree-manifest.py" dir "$TGT/tarx" --no-symlink-times > "$TGT.got" 2>&1
run "metadata = the archive's (mode, owner, mtime ns, size, link target)" diff "$TGT.want" "$TGT.got"
$PY "$HERE/tree-manifest.py" tar "$TARBALL" | grep '|l|' > "$TGT.want"
$PY "$HERE/tree-manifest.py" dir "$TGT/tarx" | grep '|l|' > "$TGT.got"
run "symlink mtimes = the archive's (lutimes)" diff "$TGT.want" "$TGT.got"
rm -f "$TGT.want" "$TGT.got"
took

step "git import on the target"
got=$(git_import "$TGT/repo" 2>&1)
eq "git commit id equals the reference (same tree)" "$got" "$(cat "$REF/commit")"
took
cd "$TGT/repo" || exit 1
run "git fsck --full --strict" git fsck --full --strict --no-progress
eq "git status clean after commit" "$(git status --porcelain 2>&1 | head -5)" ""
eq "git ls-files count" "$(git ls-files | wc -l)" "$(git -C "$REF/repo" ls-files | wc -l)"
step "git repack -a -d + fsck"
run "git repack -a -d" git repack -a -d -q
run "git fsck after repack" git fsck --full --strict --no-progress
took
step "git clone (local, hard-linked objects) + diff"
cd "$TGT" || exit 1
run "git clone --local" git clone -q --local repo clone
run "clone checks out identical files" diff -r --no-dereference --exclude=.git "$REF/repo" clone
run "git fsck in clone" git -C clone fsck --full --no-progress
took

cd /; rm -rf "$TGT"
[ ! -e "$TGT" ] && ok "rm -rf of the target tree" || fail "rm -rf of the target tree failed"
echo "# gittar: $CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ]
