#!/bin/sh
# tar and git on a directory, checked against the same steps on a local scratch directory.
#   gittar.sh TARBALL TARGET_DIR LOCAL_SCRATCH_DIR
# 1. tar x onto TARGET and onto LOCAL; diff -r and a metadata manifest (type, mode, owner,
#    mtime, size, symlink target) must match.
# 2. git init + add -A + commit (fixed author/dates) on both; the commit ids must be equal
#    (same tree = same bytes, modes and links); git fsck --full --strict; status clean;
#    repack + fsck; a local clone (hard links objects) checks out identical files.
# Prints "ok - ..." / "FAIL - ..." per check; exits 1 if any failed.
set -u
export LC_ALL=C TZ=UTC
TARBALL=$(realpath "${1:?usage: gittar.sh TARBALL TARGET_DIR LOCAL_SCRATCH_DIR}")
TGT=$(realpath "${2:?usage}")/gittar.$$
LOC=$(realpath "${3:?usage}")/gittar-local.$$
CHECKS=0; FAILS=0
ok()   { CHECKS=$((CHECKS + 1)); echo "ok - $1"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL - $1"; }
eq()   { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got '$2', want '$3'"; fi; }
step() { STEP_T0=$(date +%s.%N); echo "# $1"; }
took() { echo "# ... took $(echo "$(date +%s.%N) - $STEP_T0" | bc 2>/dev/null || echo '?') s"; }
run() { # run DESC CMD...: ok if the command exits 0, else FAIL with its output tail
  desc=$1; shift
  if out=$("$@" 2>&1); then ok "$desc"; else fail "$desc (exit $?): $(echo "$out" | tail -5)"; fi
}
manifest() { # everything tar restores, except directory sizes and symlink times
  (cd "$1" && find . -mindepth 1 ! -type d ! -type l -printf '%P|%y|%m|%U|%G|%T@|%s\n' | sort
   find . -mindepth 1 -type l -printf '%P|l|%U|%G|%l\n' | sort
   find . -mindepth 1 -type d -printf '%P|d|%m|%U|%G|%T@\n' | sort)
}
symlink_times() { # tar sets these with lutimes(); a separate check, as some servers ignore it
  (cd "$1" && find . -mindepth 1 -type l -printf '%P|%T@\n' | sort)
}
export GIT_AUTHOR_NAME=e2e GIT_AUTHOR_EMAIL=e2e@example.com GIT_AUTHOR_DATE='2020-01-01T00:00:00Z'
export GIT_COMMITTER_NAME=e2e GIT_COMMITTER_EMAIL=e2e@example.com GIT_COMMITTER_DATE='2020-01-01T00:00:00Z'
export GIT_CONFIG_NOSYSTEM=1 HOME=$LOC/home
git_import() { # git_import DIR: init, extract, add, commit; prints the commit id
  mkdir -p "$1" && cd "$1" && git init -q . && tar xf "$TARBALL" && git add -A &&
    git -c commit.gpgsign=false commit -q -m import && git rev-parse HEAD
}

rm -rf "$TGT" "$LOC"; mkdir -p "$TGT" "$LOC/home" || { echo "FAIL - cannot create dirs"; exit 1; }
echo "# gittar: $(tar tf "$TARBALL" | wc -l) entries from $TARBALL; target $TGT"

step "tar x onto the target"
run "tar x onto the target" tar xf "$TARBALL" -C "$TGT" --one-top-level=tarx
took
tar xf "$TARBALL" -C "$LOC" --one-top-level=tarx
step "compare extracted trees"
run "diff -r (contents, file types, symlink targets)" diff -r --no-dereference "$LOC/tarx" "$TGT/tarx"
manifest "$LOC/tarx" > "$LOC/manifest.want"; manifest "$TGT/tarx" > "$LOC/manifest.got"
run "metadata manifest (mode, owner, mtime, size, link target)" diff "$LOC/manifest.want" "$LOC/manifest.got"
symlink_times "$LOC/tarx" > "$LOC/symlinks.want"; symlink_times "$TGT/tarx" > "$LOC/symlinks.got"
run "symlink mtimes (lutimes)" diff "$LOC/symlinks.want" "$LOC/symlinks.got"
eq "file count" "$(find "$TGT/tarx" | wc -l)" "$(find "$LOC/tarx" | wc -l)"
took

step "git import on the target"
want=$(git_import "$LOC/repo"); got=$(git_import "$TGT/repo" 2>&1)
eq "git commit id equals the local one (same tree)" "$got" "$want"
took
cd "$TGT/repo" || exit 1
run "git fsck --full --strict" git fsck --full --strict --no-progress
eq "git status clean after commit" "$(git status --porcelain 2>&1 | head -5)" ""
eq "git ls-files count" "$(git ls-files | wc -l)" "$(cd "$LOC/repo" && git ls-files | wc -l)"
step "git repack -a -d + fsck"
run "git repack -a -d" git repack -a -d -q
run "git fsck after repack" git fsck --full --strict --no-progress
took
step "git clone (local, hard-linked objects) + diff"
cd "$TGT" || exit 1
run "git clone --local" git clone -q --local repo clone
run "clone checks out identical files" diff -r --no-dereference --exclude=.git "$LOC/repo" clone
run "git fsck in clone" git -C clone fsck --full --no-progress
took

cd /; rm -rf "$TGT" "$LOC"
[ ! -e "$TGT" ] && ok "rm -rf of the target tree" || fail "rm -rf of the target tree failed"
echo "# gittar: $CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ]
