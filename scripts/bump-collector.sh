#!/usr/bin/env bash
# Moves every place that names the collector release to the versions in versions.env:
# builder-config.yaml, the root and testbed go.mod files (go get + go mod tidy), and the ocb
# command and version mentions in the Markdown docs. Run from anywhere; needs Go and the
# module proxy. Modules pinned apart from the release (mdatagen, telemetrygen) are left alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=../versions.env
. ./versions.env
: "${COLLECTOR_STABLE:?}" "${COLLECTOR:?}" "${CONTRIB:?}"

core='go\.opentelemetry\.io/collector/[A-Za-z0-9_./-]*'
contrib='github\.com/open-telemetry/opentelemetry-collector-contrib/[A-Za-z0-9_./-]*'

# builder-config.yaml: stable core modules are v1.x, the others v0.x.
sed -i -E \
  -e "s#(gomod: ${core}) v1\.[0-9]+\.[0-9]+#\1 ${COLLECTOR_STABLE}#" \
  -e "s#(gomod: ${core}) v0\.[0-9]+\.[0-9]+#\1 ${COLLECTOR}#" \
  -e "s#(gomod: ${contrib}) v0\.[0-9]+\.[0-9]+#\1 ${CONTRIB}#" \
  builder-config.yaml

# The ocb command and release mentions in docs and comments.
files=$(git ls-files '*.md' '*.yaml' '*.sh' | grep -v '^versions.env$')
sed -i -E \
  -e "s#(cmd/builder@)v0\.[0-9]+\.[0-9]+#\1${COLLECTOR}#g" \
  -e "s#core v1\.[0-9]+\.[0-9]+ / v0\.[0-9]+\.[0-9]+#core ${COLLECTOR_STABLE} / ${COLLECTOR}#g" \
  -e "s#contrib v0\.[0-9]+\.[0-9]+#contrib ${CONTRIB}#g" \
  $files

# go.mod files: every required collector module moves; mdatagen (a tool pinned on its own)
# and its helper modules stay where they are.
bump_module() {
  local dir=$1 args=()
  while read -r mod ver; do
    case $mod in
      go.opentelemetry.io/collector/cmd/mdatagen|go.opentelemetry.io/collector/filter|go.opentelemetry.io/collector/internal/schemagen) continue ;;
      github.com/open-telemetry/opentelemetry-collector-contrib/*) args+=("$mod@$CONTRIB") ;;
      go.opentelemetry.io/collector/*)
        if [[ $ver == v1.* ]]; then args+=("$mod@$COLLECTOR_STABLE"); else args+=("$mod@$COLLECTOR"); fi ;;
    esac
  done < <(cd "$dir" && go list -m -f '{{if not .Indirect}}{{.Path}} {{.Version}}{{end}}' all | grep -E '^(go\.opentelemetry\.io/collector/|github\.com/open-telemetry/opentelemetry-collector-contrib/)')
  if ((${#args[@]})); then
    (cd "$dir" && go get "${args[@]}" && go mod tidy)
  fi
}
bump_module .
bump_module testbed

echo "Moved to collector ${COLLECTOR_STABLE} / ${COLLECTOR}, contrib ${CONTRIB}."
echo "Check: (cd testbed && go test -run TestVersions_Agree ./internal/collector)"
