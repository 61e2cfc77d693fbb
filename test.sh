#!/usr/bin/env bash
# Runs every test of the project, as CI does:
#   1. the root module (engine and components) with the race detector;
#   2. a short pass of the end-to-end testbed, which builds otelcol-comet with ocb and runs
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

cd testbed
go vet ./...
TESTBED_REQUIRE_COMET=1 go test -count=1 -timeout 25m -short ./...
