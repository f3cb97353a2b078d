package hostile

import (
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/internal/testprog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bins maps a program's name ("echo", "chat", "push", "auth") to its
// binary, built once by TestMain.
var bins = map[string]string{}

// tally counts finished cases for the summary line.
var tally testprog.Tally

func TestMain(m *testing.M) {
	os.Exit(testprog.Main(m, "hostile", buildAll, &tally))
}

// buildAll builds every server the suite attacks, at once.
func buildAll(dir string) error {
	pkgs := map[string]string{
		"echo": "./examples/echo",
		"chat": "./cmd/chat",
		"push": "./examples/push",
		"auth": "./examples/auth",
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	for name, pkg := range pkgs {
		wg.Go(func() {
			bin, err := testprog.Build(dir, pkg, raceEnabled)
			mu.Lock()
			defer mu.Unlock()
			bins[name] = bin
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// hostileCase is one row of the table: an attack on one kind of server,
// the answer RFC 6455 requires, and then a check that a well-behaved
// client is still served.
type hostileCase struct {
	name    string   // what the attack is, with the RFC section
	servers []string // the servers it runs against
	// own starts a server process for this case alone, with args added
	// to its flags, so that its memory can be measured from a clean
	// baseline.
	own  bool
	args []string
	run  func(t *testing.T, s *instance)
}

// TestHostile runs every case against each of its servers, in parallel,
// then stops the shared servers and checks that they exit cleanly.
func TestHostile(t *testing.T) {
	shared := map[string]*instance{}
	for _, sv := range servers {
		shared[sv.name] = sv.start(t)
	}
	cases := allCases()
	start := time.Now()
	t.Run("cases", func(t *testing.T) {
		for _, tc := range cases {
			for _, name := range tc.servers {
				t.Run(name+"/"+tc.name, func(t *testing.T) {
					t.Parallel()
					defer tally.Record(t)
					s := shared[name]
					if tc.own {
						s = serverNamed(name).start(t, tc.args...)
					}
					tc.run(t, s)
					if t.Failed() {
						return
					}
					assert.True(t, s.proc.Running(), "the %s server died; stderr:\n%s", name, s.proc.Stderr())
					require.NoError(t, s.healthy(t), "a well-behaved client is no longer served")
					if tc.own {
						s.stop(t)
					}
				})
			}
		}
	})
	for _, s := range shared {
		s.stop(t)
	}
	n, f := tally.Counts()
	t.Logf("hostile: %d cases, %d passed, %d failed in %v", n, n-f, f, time.Since(start).Round(time.Millisecond))
}

func allCases() []hostileCase {
	var cs []hostileCase
	for _, part := range [][]hostileCase{framingCases(), resourceCases(), handshakeCases(), resetCases()} {
		cs = append(cs, part...)
	}
	return cs
}
