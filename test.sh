#!/usr/bin/env bash
# Runs every test of the project, as CI does:
#   1. the root module (engine and components) with the race detector;
#   2. go vet for linux amd64/arm64/armv7/386, windows and darwin; the root module's tests
#      for linux arm64 and armv7 under qemu (installed with apt-get when missing and root);
#   3. a short pass of the end-to-end testbed, which builds otelcol-comet with ocb and runs
#      every scenario at small counts plus the examples.
# Needs only Go and the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")"

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
TESTBED_REQUIRE_COMET=1 go test -count=1 -timeout 25m -short ./...
