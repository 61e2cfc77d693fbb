// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package cometreceiver

func runChildIfRequested() {}
