// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package health

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/component/componentstatus"

	"github.com/comet-otel/comet/internal/health/healthtest"
)

func TestReporter_ReportsChangesOnly(t *testing.T) {
	var r Reporter
	r.Failed(errors.New("before start")) // no host yet: nothing to report to
	h := healthtest.NewHost()
	r.SetHost(h)
	r.OK()
	for range 100 {
		r.OK()
	}
	full := errors.New("log is full")
	for range 100 {
		r.Failed(full)
	}
	r.OK()
	eio := &fs.PathError{Op: "write", Path: "/data/log", Err: syscall.EIO}
	r.Failed(eio)
	r.Failed(full) // a permanent error is not downgraded
	r.OK()
	assert.Equal(t, []componentstatus.Status{
		componentstatus.StatusOK, // after the failure recorded before the host was known
		componentstatus.StatusRecoverableError,
		componentstatus.StatusOK,
		componentstatus.StatusPermanentError,
		componentstatus.StatusOK,
	}, h.Statuses())
	assert.Equal(t, full, h.Events()[1].Err())
}

func TestPermanent(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("append: %w", &fs.PathError{Op: "write", Path: "x", Err: syscall.EROFS}), true},
		{fmt.Errorf("fsync failed: %w", syscall.EIO), true},
		{&fs.PathError{Op: "open", Path: "x", Err: syscall.EACCES}, true},
		{fmt.Errorf("append: %w", syscall.ENOSPC), false},
		{errors.New("comet: log is full"), false},
	} {
		assert.Equal(t, tc.want, Permanent(tc.err), "%v", tc.err)
	}
}
