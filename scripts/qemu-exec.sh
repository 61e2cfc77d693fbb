#!/bin/sh
# go test -exec wrapper: runs a cross-compiled test binary under qemu user-mode emulation.
# The emulator is $COMET_TEST_EMULATOR (for example qemu-aarch64-static); tests that start
# the test binary again as a child process (internal/testexec) start it through the same
# emulator, since the variable is inherited. binfmt_misc is not needed.
#
#   COMET_TEST_EMULATOR=qemu-aarch64-static GOARCH=arm64 go test -exec "$PWD/scripts/qemu-exec.sh" ./internal/log
set -eu
emulator=${COMET_TEST_EMULATOR:?set COMET_TEST_EMULATOR to the qemu user emulator, e.g. qemu-aarch64-static}
exec "$emulator" "$@"
