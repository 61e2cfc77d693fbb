// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometexporter

import "os"

// lifecycleDirectory is the directory metadata.yaml gives the generated
// lifecycle tests (their config cannot name a per-test temporary
// directory).
const lifecycleDirectory = "/tmp/comet-exporter-lifecycle-test"

// resetLifecycleDirectory runs before the package's tests (metadata.yaml
// tests::goleak::setup), so each run starts from an empty log.
func resetLifecycleDirectory() {
	_ = os.RemoveAll(lifecycleDirectory)
}
