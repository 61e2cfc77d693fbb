// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver

import "os"

// lifecycleDirectory is the directory metadata.yaml gives the generated
// lifecycle tests (their config cannot name a per-test temporary
// directory).
const lifecycleDirectory = "/tmp/comet-receiver-lifecycle-test"

// runTestMainHooks runs before the package's tests (metadata.yaml
// tests::goleak::setup): a re-executed test binary becomes the child
// process it was started as (a writer, or a drain to kill), and the lifecycle tests start from an empty
// directory.
func runTestMainHooks() {
	runChildIfRequested()
	runReaderChildIfRequested()
	_ = os.RemoveAll(lifecycleDirectory)
}
