package conformance

import (
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/internal/testprog"
	"github.com/ab7c482b/websocket/ws"
)

// echoBin is examples/echo, built once by TestMain.
var echoBin string

// results counts cases (once per direction) for the summary line.
var results struct {
	testprog.Tally
	mu       sync.Mutex
	sections map[string]*[2]int // section → cases, failed
}

func TestMain(m *testing.M) {
	os.Exit(testprog.Main(m, "conformance", func(dir string) (err error) {
		echoBin, err = testprog.Build(dir, "./examples/echo", raceEnabled)
		return err
	}, &results.Tally))
}

// record counts a finished case for the summary.
func record(t *testing.T, id string) {
	failed := t.Failed()
	results.Record(t)
	section, _, _ := strings.Cut(id, ".")
	results.mu.Lock()
	defer results.mu.Unlock()
	if results.sections == nil {
		results.sections = map[string]*[2]int{}
	}
	c := results.sections[section]
	if c == nil {
		c = new([2]int)
		results.sections[section] = c
	}
	c[0]++
	if failed {
		c[1]++
	}
}

// TestConformance runs the table against examples/echo (one server for
// each -compression mode) and against our client, then stops the echo
// servers and checks that they exit cleanly.
func TestConformance(t *testing.T) {
	echoes := map[ws.CompressionMode]*testprog.Process{}
	for mode, flag := range echoFlags {
		echoes[mode] = startEcho(t, "-compression", flag)
	}
	cases := allCases()
	start := time.Now()
	t.Run("cases", func(t *testing.T) {
		for _, d := range []direction{toServer, toClient} {
			t.Run(d.String(), func(t *testing.T) {
				t.Parallel()
				for i := range cases {
					tc := &cases[i]
					if tc.dirs&d == 0 {
						continue
					}
					t.Run(tc.id, func(t *testing.T) {
						t.Parallel()
						defer record(t, tc.id)
						begin := time.Now()
						if d == toServer {
							runAgainstServer(t, tc, echoes[tc.setup().mode].Addr)
						} else {
							runAgainstClient(t, tc)
						}
						if n := tc.size(); n >= heavyBytes || strings.HasPrefix(tc.id, "9.") {
							el := time.Since(begin)
							t.Logf("%v (%v): %s of data sent in %v, %.1f MiB/s", tc, d, byteSize(n), el.Round(time.Millisecond), float64(n)/(1<<20)/el.Seconds())
						}
					})
				}
				if d == toClient {
					for _, wc := range writerCases() {
						t.Run(wc.id, func(t *testing.T) {
							t.Parallel()
							defer record(t, wc.id)
							runWriterCase(t, wc)
						})
					}
				}
			})
		}
	})
	for _, echo := range echoes {
		echo.Stop(t)
	}

	n, f := results.Counts()
	results.mu.Lock()
	var sections []string
	for s := range results.sections {
		sections = append(sections, s)
	}
	sort.Slice(sections, func(i, j int) bool {
		return len(sections[i]) < len(sections[j]) || len(sections[i]) == len(sections[j]) && sections[i] < sections[j]
	})
	for _, s := range sections {
		c := results.sections[s]
		t.Logf("section %s: %d cases, %d failed", s, c[0], c[1])
	}
	results.mu.Unlock()
	t.Logf("conformance: %d cases, %d passed, %d failed in %v", n, n-f, f, time.Since(start).Round(time.Millisecond))
}

// startEcho starts examples/echo on a free port, with more flags if
// given. It is killed at the end of the test if not stopped before.
func startEcho(t *testing.T, flags ...string) *testprog.Process {
	t.Helper()
	return testprog.Start(t, echoBin, append([]string{"-addr", "127.0.0.1:0"}, flags...)...)
}
