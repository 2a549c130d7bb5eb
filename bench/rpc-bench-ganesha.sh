#!/bin/sh
# bench/rpc-bench.ts against nfs-ganesha (VFS FSAL) and then against s3files, both on loopback
# inside one private network namespace, so the two per-call tables are taken the same way.
# ganesha needs rpcbind, whose socket in /run is shared by every namespace: the namespace gets
# its own /run (ip netns exec gives the command a private mount namespace). Root only.
#
#   npx tsc -p . && bench/rpc-bench-ganesha.sh --seconds 2 --only getattr,lookup-hit
set -eu
cd "$(dirname "$0")/.."
NS="rpcbench-$$"
DIR=$(mktemp -d /tmp/rpc-bench-ganesha-XXXXXX)
mkdir "$DIR/export" "$DIR/recovery"
cat > "$DIR/ganesha.conf" <<EOF
NFS_CORE_PARAM { NFS_Port = 2049; MNT_Port = 20048; Protocols = 3; Enable_NLM = false; Enable_RQUOTA = false; }
NFS_KRB5 { Active_krb5 = false; }
NFSV4 { Graceless = true; RecoveryRoot = "$DIR/recovery"; }
EXPORT { Export_Id = 1; Path = "$DIR/export"; Pseudo = /export; Access_Type = RW; Squash = No_Root_Squash;
  Protocols = 3; Transports = TCP; SecType = sys; FSAL { Name = VFS; } }
EOF
cleanup() {
  for pid in $(ip netns pids "$NS" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  sleep 0.5
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT INT TERM
ip netns add "$NS"
ip netns exec "$NS" sh -s "$DIR" "$@" <<'INNER'
set -eu
DIR=$1; shift
ip link set lo up
mount -t tmpfs tmp /run
rpcbind -w -f & RPCBIND=$!
i=0; while [ ! -S /run/rpcbind.sock ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
ganesha.nfsd -F -f "$DIR/ganesha.conf" -L "$DIR/ganesha.log" -p "$DIR/ganesha.pid" -N NIV_WARN & GANESHA=$!
# ganesha answers MOUNT a few seconds after it starts (grace period, exports).
node -e '
  const net = require("net"); const until = Date.now() + 30000;
  (function probe() {
    const s = net.connect(20048, "127.0.0.1", () => { s.destroy(); process.exit(0); });
    s.on("error", () => (Date.now() > until ? process.exit(1) : setTimeout(probe, 200)));
  })();'
sleep 1
echo "== nfs-ganesha"
node dist/bench/rpc-bench.js --connect 127.0.0.1:2049:20048 --export "$DIR/export" --server-pid "$GANESHA" \
  --out "$DIR/ganesha.json" "$@"
kill "$GANESHA" "$RPCBIND"
echo "== s3files"
node dist/bench/rpc-bench.js "$@"
INNER
