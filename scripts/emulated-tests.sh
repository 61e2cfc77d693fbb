#!/usr/bin/env bash
# Runs the root module's tests for linux/arm64 and linux/arm (v7, 32-bit) under qemu user-mode
# emulation: every package with -short (qemu is 5-20x slower; the race detector does not run
# there), and on armv7 the test that writes past 2 GiB (offsets and sizes beyond 32 bits).
# Installs Debian's qemu-user-static when missing and running as root; otherwise it says it
# skipped, plainly. binfmt_misc is not needed: scripts/qemu-exec.sh runs each test binary,
# and the tests start their child processes through the same emulator (internal/testexec).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v qemu-aarch64-static >/dev/null || ! command -v qemu-arm-static >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing qemu-user-static"
    apt-get install -y qemu-user-static >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y qemu-user-static >/dev/null; }
  else
    echo "SKIP emulated arm64/armv7 tests: qemu-user-static is not installed and this user cannot install it"
    exit 0
  fi
fi

exec_wrapper="$PWD/scripts/qemu-exec.sh"
for target in arm64:qemu-aarch64-static arm/7:qemu-arm-static; do
  platform=${target%%:*}
  emulator=${target#*:}
  goarch=${platform%%/*}
  goarm=""
  [ "$platform" != "$goarch" ] && goarm=${platform#*/}
  echo "== go test -short ./... for linux/$platform under $emulator"
  COMET_TEST_EMULATOR=$emulator GOARCH=$goarch GOARM=$goarm go test -count=1 -short -timeout 30m -exec "$exec_wrapper" ./...
done

echo "== the 2 GiB test for linux/arm/7 (32-bit) under qemu-arm-static"
COMET_TEST_LARGE=1 COMET_TEST_EMULATOR=qemu-arm-static GOARCH=arm GOARM=7 \
  go test -count=1 -timeout 20m -run '^TestLarge_' -exec "$exec_wrapper" ./internal/log
