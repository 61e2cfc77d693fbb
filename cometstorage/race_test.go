// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build race

package cometstorage

// raceEnabled scales the longest tests down under the race detector.
const raceEnabled = true
