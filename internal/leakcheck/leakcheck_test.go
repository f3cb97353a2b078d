package leakcheck

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWaitReportsLeak checks that Wait fails, with the leaked goroutine's
// stack, while a goroutine is blocked, and succeeds once it returns.
func TestWaitReportsLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	release := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		blockedInLeakcheckTest(release)
	}()
	err := Wait(base, 20*time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "blockedInLeakcheckTest")
	close(release)
	<-done
	assert.NoError(t, Wait(base, Timeout))
}

func blockedInLeakcheckTest(release <-chan struct{}) { <-release }
