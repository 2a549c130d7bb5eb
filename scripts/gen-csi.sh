#!/usr/bin/env bash
# Generates the TypeScript types of proto/csi.proto into pkg/csi/generated/ with
# proto-loader-gen-types. The options must match the loader options in pkg/csi/proto.ts
# (keepCase, longs=Number, enums=String, defaults, oneofs), or the types lie about the objects.
#   scripts/gen-csi.sh           regenerate
#   scripts/gen-csi.sh --check   fail if pkg/csi/generated/ is not what the proto generates
set -euo pipefail
cd "$(dirname "$0")/.."

gen() {
  node node_modules/@grpc/proto-loader/build/bin/proto-loader-gen-types.js \
    --keepCase --longs=Number --enums=String --defaults --oneofs --grpcLib=@grpc/grpc-js \
    -I proto -O "$1" csi.proto
}

if [[ "${1:-}" == "--check" ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  gen "$tmp"
  if ! diff -r -q "$tmp" pkg/csi/generated >/dev/null; then
    diff -r "$tmp" pkg/csi/generated | head -40 >&2
    echo "pkg/csi/generated is out of date: run npm run gen:csi" >&2
    exit 1
  fi
  echo "pkg/csi/generated is current"
else
  rm -rf pkg/csi/generated
  gen pkg/csi/generated
fi
