// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !race

package cometstorage

const raceEnabled = false
