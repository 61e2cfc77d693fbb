#!/usr/bin/env bash
# Builds and vets the root module for every platform collector releases ship: linux amd64,
# arm64, armv7 and 386, windows amd64 and darwin arm64. Windows and darwin are only compiled
# and vetted here; linux arm64 and armv7 are also tested under qemu (scripts/emulated-tests.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
for target in linux/amd64 linux/arm64 linux/arm/7 linux/386 windows/amd64 darwin/arm64; do
  IFS=/ read -r goos goarch goarm <<<"$target"
  echo "== go vet ./... for $target"
  GOOS=$goos GOARCH=$goarch GOARM=${goarm:-} go vet ./...
done
