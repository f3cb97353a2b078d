// Package leakcheck finds goroutines that tests leave running, with the
// standard library alone: it counts goroutines, waits with a deadline for
// the count to come back down, and prints every goroutine's stack when it
// does not.
//
// Goroutines that were told to stop need a moment to be scheduled and
// return, so the wait polls; it never paces a test, it only observes one
// that has finished.
package leakcheck

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"testing"
	"time"
)

// Timeout is how long Check and Main wait for goroutines to return.
const Timeout = 5 * time.Second

// Wait waits until at most base goroutines run, polling until timeout,
// and returns nil then. Otherwise it returns an error that holds the
// stack of every goroutine.
func Wait(base int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return nil
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			return fmt.Errorf("goroutine leak: %d goroutines still run after %v, want at most %d\n%s",
				n, timeout, base, buf)
		}
		runtime.Gosched()
		<-tick.C
	}
}

// Check fails t if, once t's other cleanups have run, more goroutines run
// than when Check was called. Call it first in a test, so that its
// cleanup runs last. The test must not be parallel, and nothing else may
// run tests beside it, since their goroutines would change the count.
func Check(t testing.TB) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		if err := Wait(base, Timeout); err != nil {
			t.Error(err)
		}
	})
}

// Main runs m's tests and, if they pass, checks that every goroutine they
// started has returned: it closes http.DefaultClient's idle connections
// (kept-alive connections are not leaks), then waits for the count to
// come back to what it was before the tests. It returns the exit code for
// os.Exit, and prints the stacks to stderr on a leak. Call it from
// TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m)) }
func Main(m *testing.M) int {
	base := runtime.NumGoroutine()
	code := m.Run()
	if code != 0 || fuzzing() {
		// The fuzzing engine leaves its own goroutines (a signal
		// handler among them) running after its run.
		return code
	}
	http.DefaultClient.CloseIdleConnections()
	if err := Wait(base, Timeout); err != nil {
		fmt.Fprintln(os.Stderr, "leakcheck:", err)
		return 1
	}
	return 0
}

// fuzzing reports whether the test binary runs a fuzz target (-test.fuzz).
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}
