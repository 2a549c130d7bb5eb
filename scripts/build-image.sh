#!/usr/bin/env bash
# Builds the s3files image from the Dockerfile, unchanged, with podman (Debian's package).
#
# Where the Dockerfile's base image (FROM node:<pinned>-bookworm-slim) cannot be pulled, it is
# made here first and tagged with that exact name: Debian 12 by debootstrap from Debian's
# archive, plus the pinned Node.js and npm from the npm registry (scripts/install-node.sh)
# in /usr/local, as in the official image, trusting the machine's certificate authorities
# (NODE_EXTRA_CA_CERTS: for a registry reached through a TLS proxy). A machine that can pull the official image gets
# the same build with S3FILES_PULL_BASE=1.
#
#   scripts/build-image.sh [TAG]        default TAG: s3files:<package.json version>
#
# Prints the image's name and size on the last line. Needs root (debootstrap, podman).
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
source scripts/tool-pins.sh
version="$(node -p 'require("./package.json").version')"
tag="${1:-localhost/s3files:$version}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
log() { echo "build-image: $*" >&2; }

for tool in podman debootstrap runc; do
  command -v "$tool" >/dev/null || { log "needs $tool: apt-get install -y podman buildah debootstrap runc"; exit 1; }
done
# runc, not Debian's default crun: crun refuses hosts with cgroups in hybrid (v1 + v2) mode.
# Lower rlimits than podman's defaults: a container may not raise them where the engine
# itself lacks CAP_SYS_RESOURCE (as in CI's sandbox); the build needs few files or processes.
PODMAN=(podman --runtime runc)
RUN_LIMITS=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)

from="$(awk '/^FROM / {print $2; exit}' Dockerfile)"
expected="node:$NODE_VERSION-bookworm-slim"
[[ "$from" == "$expected" ]] || { log "the Dockerfile builds FROM $from, scripts/tool-pins.sh pins $expected"; exit 1; }
base="docker.io/library/$from"

make_base() {
  local work rootfs started
  started=$SECONDS
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  rootfs="$work/rootfs"
  log "making $base: debootstrap bookworm from $mirror"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; log "debootstrap failed"; return 1; }
  log "adding Node.js $NODE_VERSION and npm $NPM_VERSION from the npm registry"
  bash scripts/install-node.sh "$work/node"
  mkdir -p "$rootfs/usr/local/lib"
  cp -a "$work/node/bin/." "$rootfs/usr/local/bin/"
  cp -a "$work/node/include" "$rootfs/usr/local/"
  cp -a "$work/node/lib/node_modules" "$rootfs/usr/local/lib/"
  # Trust what this machine trusts: where the npm registry is reached through a proxy with
  # its own certificate authority (as in CI), npm inside the build needs it too. Node reads
  # NODE_EXTRA_CA_CERTS; the official image differs only in not setting it.
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  # As Debian's official slim images: apt keeps no package caches, dpkg installs no
  # documentation, manual pages or translations.
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
DPKG
  rm -rf "$rootfs"/usr/share/doc/*/[!c]* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" --numeric-owner -cf "$work/rootfs.tar" .
  "${PODMAN[@]}" import --change 'ENV NODE_VERSION='"$NODE_VERSION" \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' --change 'CMD ["node"]' "$work/rootfs.tar" "$base" >/dev/null
  log "made $base in $((SECONDS - started)) s"
}

if ! "${PODMAN[@]}" image exists "$base"; then
  if [[ "${S3FILES_PULL_BASE:-0}" == 1 ]]; then
    "${PODMAN[@]}" pull "$base"
  else
    make_base
  fi
fi

started=$SECONDS
log "building $tag from the Dockerfile"
# The host's network: the build stage fetches Debian packages and the npm dependencies.
"${PODMAN[@]}" build "${RUN_LIMITS[@]}" --network host --pull=never -t "$tag" -f Dockerfile . >&2
size="$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$tag")"
log "built $tag in $((SECONDS - started)) s"
echo "$tag $size"
