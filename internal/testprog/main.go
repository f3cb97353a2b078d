package testprog

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
)

// Tally counts a suite's cases for its summary line. It is safe for
// concurrent use.
type Tally struct{ cases, failed atomic.Int64 }

// Record counts t, a finished case; call it deferred.
func (c *Tally) Record(t testing.TB) {
	c.cases.Add(1)
	if t.Failed() {
		c.failed.Add(1)
	}
}

// Counts returns the cases counted so far and how many of them failed.
func (c *Tally) Counts() (cases, failed int64) { return c.cases.Load(), c.failed.Load() }

// Main is the body of a suite's TestMain: it calls build with a temporary
// directory for the programs under test, runs the tests, removes the
// directory and, if any case was counted, prints a line such as
// "hostile: 150 cases, 150 passed, 0 failed". It returns the exit code.
func Main(m *testing.M, suite string, build func(dir string) error, tally *Tally) int {
	dir, err := os.MkdirTemp("", suite+"-")
	if err == nil {
		defer os.RemoveAll(dir)
		err = build(dir)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", suite, err)
		return 1
	}
	code := m.Run()
	if n, f := tally.Counts(); n > 0 {
		fmt.Printf("%s: %d cases, %d passed, %d failed\n", suite, n, n-f, f)
	}
	return code
}
