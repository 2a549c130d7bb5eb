#!/usr/bin/env bash
# Installs everything s3files needs to build, run and test on Debian 12: the system packages
# (the User-Mode Linux kernel NFS client and its tools for the end-to-end tests, ffmpeg for
# the FFmpeg test, libnfs-utils as an independent NFS client, Ceph RGW as the S3 server of the
# integration tests) and the npm dependencies, then
# builds. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(user-mode-linux nfs-common rpcbind busybox-static iproute2 libnfs-utils ffmpeg git python3 kmod procps gcc g++ make libc6-dev
  ceph-mon ceph-osd radosgw ceph-common)
# nfs-ganesha is the reference server of bench/ and of the harness self-test.
packages+=(nfs-ganesha nfs-ganesha-vfs)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# `npm ci` refuses this lock file where the registry lacks the other platforms' optional
# msgpackr-extract binaries (npm then leaves them out of the lock); `npm install` honours the
# lock for everything it has and installs the same versions.
npm ci --no-audit --no-fund 2>/dev/null || npm install --no-audit --no-fund
npm run build
