#!/usr/bin/env bash
# Installs everything s3files needs to build, run and test on Debian 12: the system packages
# (the User-Mode Linux kernel NFS client and its tools for the end-to-end tests, ffmpeg for
# the FFmpeg test, libnfs-utils as an independent NFS client, Ceph RGW as the S3 server of the
# integration tests) and the npm dependencies, then
# builds. Idempotent; on a clone whose node_modules was built by another Node it reinstalls
# (npm ci starts from an empty node_modules) and rebuilds the native addon.
#
# Node.js: the LTS pinned in scripts/tool-pins.sh. When the machine's node is older (or absent),
# scripts/install-node.sh puts that release and its npm, from the npm registry, in .tools/node;
# npm scripts and npx then run on it (scripts/link-node.mjs), so `npm test` and
# `npx s3files` need nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(user-mode-linux nfs-common rpcbind busybox-static iproute2 libnfs-utils ffmpeg git python3 kmod procps gcc g++ make libc6-dev
  ceph-mon ceph-osd radosgw ceph-common)
# openssl checks the integrity of the pinned tools (scripts/tool-pins.sh); unzip extracts Helm.
packages+=(openssl unzip)
# The image: podman builds and runs it (with runc), debootstrap makes its base where none can
# be pulled (scripts/build-image.sh).
packages+=(podman buildah runc debootstrap uidmap)
# nfs-ganesha is the reference server of bench/ and of the harness self-test.
packages+=(nfs-ganesha nfs-ganesha-vfs)

# Something to fetch Node.js from the npm registry with, on a machine that has no npm at all.
command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

source scripts/tool-pins.sh
machine_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if ((machine_major < ${NODE_VERSION%%.*})); then
  bash scripts/install-node.sh .tools/node
  export PATH="$PWD/.tools/node/bin:$PATH"
else
  rm -rf .tools/node
fi
bash scripts/install-helm.sh .tools/helm
echo "setup: Node.js $(node --version), npm $(npm --version), Helm $(.tools/helm/helm version --short)" >&2

# Strictly from the committed lock: npm ci fails if package.json and package-lock.json
# disagree (update the lock with `npm install` and commit it).
npm ci --no-audit --no-fund
npm run build
# `npx s3files` links this package into npm's npx cache on first use; doing it here, on the
# pinned Node, spares the README's first `npx s3files` npm's engine warning when the
# machine's own (older) node runs npx.
npx --yes s3files --version >/dev/null
