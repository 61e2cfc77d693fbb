// Copyright The Comet Authors
// SPDX-License-Identifier: Apache-2.0

package alarm

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAlarm_SaidOncePerEpisode(t *testing.T) {
	var a Alarm
	_, _, ended := a.Clear(0)
	require.False(t, ended, "nothing to end before a Raise")
	require.True(t, a.Raise(), "the first Raise starts an episode")
	for range 100 {
		require.False(t, a.Raise())
	}
	require.True(t, a.On())
	n, lasted, ended := a.Clear(0)
	require.True(t, ended)
	require.EqualValues(t, 101, n)
	require.Positive(t, lasted)
	_, _, ended = a.Clear(0)
	require.False(t, ended, "an episode ends once")
	require.True(t, a.Raise(), "a new episode is said again")
}

func TestAlarm_FlippingWithinSettleIsOneEpisode(t *testing.T) {
	var a Alarm
	require.True(t, a.Raise())
	for range 10 {
		_, _, ended := a.Clear(time.Hour)
		require.False(t, ended, "a Clear right after a Raise does not end the episode")
		require.False(t, a.Raise(), "nor does the next Raise start a new one")
	}
	n, _, ended := a.Clear(0)
	require.True(t, ended)
	require.EqualValues(t, 11, n)
}

func TestAlarm_ConcurrentRaisesStartOneEpisode(t *testing.T) {
	var a Alarm
	var wg sync.WaitGroup
	var mu sync.Mutex
	started := 0
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if a.Raise() {
					mu.Lock()
					started++
					mu.Unlock()
				}
				a.Clear(time.Hour)
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, started)
	n, _, ended := a.Clear(0)
	require.True(t, ended)
	require.EqualValues(t, 8000, n)
}
