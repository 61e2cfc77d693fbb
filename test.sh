#!/usr/bin/env bash
# Runs every test of the project, as CI does:
#   1. the root module (engine and components) with the race detector;
#   2. go vet for linux amd64/arm64/armv7/386, windows and darwin; the root module's tests
#      for linux arm64 and armv7 under qemu (installed with apt-get when missing and root);
#   3. a short pass of the end-to-end testbed, which builds otelcol-comet with ocb and runs
#      every scenario at small counts plus the examples.
# Needs Go and the Go module proxy; as root it installs with apt-get what the power-loss, full-disk
# and emulated tests need (losetup, mkfs.ext4, mkfs.xfs, qemu-user-static).
set -euo pipefail
cd "$(dirname "$0")"

# The testbed's power-loss and full-disk scenarios need losetup, mkfs.ext4 and mkfs.xfs (without
# them, or without root, they skip and say why). As root, install what is missing.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=""
  command -v losetup >/dev/null || missing="$missing mount"
  command -v mkfs.ext4 >/dev/null || missing="$missing e2fsprogs"
  command -v mkfs.xfs >/dev/null || missing="$missing xfsprogs"
  if [ -n "$missing" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
  fi
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './_build/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi

go vet ./...
go test -race -count=1 -timeout 45m ./...

# The platforms collector releases ship: vet for each; tests under qemu for arm64 and armv7.
scripts/cross-check.sh
scripts/emulated-tests.sh

cd testbed
go vet ./...
# Verbose into a log, so that the reasons of skipped tests (power loss and full disk without root
# or loop devices) are printed even when everything passes; the whole log only on failure.
log=$(mktemp)
if ! TESTBED_REQUIRE_COMET=1 go test -count=1 -timeout 25m -short -v ./... >"$log" 2>&1; then
  cat "$log"
  exit 1
fi
grep -A2 -E -- '--- SKIP' "$log" || echo "testbed: no test skipped"
grep -E '^(ok|FAIL|\?) ' "$log"
