#!/usr/bin/env bash
# Installs the pinned Node.js LTS and npm (scripts/tool-pins.sh) from the npm registry into
# DEST (default .tools/node of the repository), laid out like Node's own tarball:
# DEST/bin/{node,npm,npx}, DEST/include/node (node-gyp builds against it),
# DEST/lib/node_modules/npm. Needs npm (any version) to fetch with, and openssl. Does nothing
# when DEST already holds the pinned versions.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/tool-pins.sh"
dest="${1:-$root/.tools/node}"

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "install-node: no Node.js build pinned for $(uname -m)" >&2; exit 1 ;;
esac
integrity_var="NODE_INTEGRITY_$arch"
node_integrity="${!integrity_var}"

if [[ -x "$dest/bin/node" && -x "$dest/bin/npm" ]] \
  && [[ "$("$dest/bin/node" --version)" == "v$NODE_VERSION" ]] \
  && [[ "$("$dest/bin/node" "$dest/bin/npm" --version)" == "$NPM_VERSION" ]]; then
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "install-node: fetching node-linux-$arch@$NODE_VERSION and npm@$NPM_VERSION from the npm registry" >&2
(cd "$work" && npm pack --json --no-audit --no-fund "node-linux-$arch@$NODE_VERSION" "npm@$NPM_VERSION" >pack.json)
# npm pack checked each download against the registry's integrity; check it against ours.
check() {
  local file="$1" want="$2" got
  got="sha512-$(openssl dgst -sha512 -binary "$work/$file" | base64 -w0)"
  if [[ "$got" != "$want" ]]; then
    echo "install-node: $file has integrity $got, pinned $want" >&2
    exit 1
  fi
}
check "node-linux-$arch-$NODE_VERSION.tgz" "$node_integrity"
check "npm-$NPM_VERSION.tgz" "$NPM_INTEGRITY"

new="$dest.new.$$"
rm -rf "$new"
mkdir -p "$new/lib/node_modules/npm"
tar xzf "$work/node-linux-$arch-$NODE_VERSION.tgz" -C "$new" --strip-components=1 package/bin package/include package/LICENSE
tar xzf "$work/npm-$NPM_VERSION.tgz" -C "$new/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$new/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$new/bin/npx"
"$new/bin/node" --version >/dev/null
rm -rf "$dest"
mv "$new" "$dest"
echo "install-node: installed Node.js $("$dest/bin/node" --version) and npm $NPM_VERSION in $dest" >&2
