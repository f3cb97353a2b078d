package conformance

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoBin is examples/echo, built once by TestMain.
var echoBin string

// results counts cases (once per direction) for the summary line.
var results struct {
	cases, failed atomic.Int64
	mu            sync.Mutex
	sections      map[string]*[2]int // section → cases, failed
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "conformance-")
	if err == nil {
		echoBin, err = buildEcho(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if n := results.cases.Load(); n > 0 {
		f := results.failed.Load()
		fmt.Printf("conformance: %d cases, %d passed, %d failed\n", n, n-f, f)
	}
	os.Exit(code)
}

// buildEcho builds examples/echo into dir, with the race detector if
// this test runs with it.
func buildEcho(dir string) (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(dir, "echo")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./examples/echo")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./examples/echo: %w\n%s", err, out)
	}
	return bin, nil
}

// record counts a finished case for the summary.
func record(t *testing.T, id string) {
	failed := t.Failed()
	results.cases.Add(1)
	if failed {
		results.failed.Add(1)
	}
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

// TestConformance runs the table against examples/echo and against our
// client, then stops the echo server and checks that it exits cleanly.
func TestConformance(t *testing.T) {
	echo := startEcho(t)
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
							runAgainstServer(t, tc, echo.addr)
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
	echo.stop(t)

	n, f := results.cases.Load(), results.failed.Load()
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

// echoProcess is a running examples/echo.
type echoProcess struct {
	cmd    *exec.Cmd
	addr   string // host:port it listens on
	stderr lockedBuffer
	exited chan error
	once   sync.Once
}

// startEcho starts examples/echo on a free port and reads the port from
// the line it prints. The process is killed at the end of the test if
// stop was not called.
func startEcho(t *testing.T) *echoProcess {
	t.Helper()
	p := &echoProcess{cmd: exec.Command(echoBin, "-addr", "127.0.0.1:0"), exited: make(chan error, 1)}
	stdout, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	p.cmd.Stderr = &p.stderr
	require.NoError(t, p.cmd.Start())
	line := make(chan string, 1)
	go func() {
		br := bufio.NewReader(stdout)
		l, _ := br.ReadString('\n')
		line <- l
		io.Copy(io.Discard, br)
		p.exited <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		p.once.Do(func() {
			p.cmd.Process.Kill()
			<-p.exited
		})
	})
	select {
	case l := <-line:
		addr, ok := strings.CutPrefix(strings.TrimSpace(l), "echo: listening on ws://")
		require.True(t, ok, "echo printed %q, want its URL; stderr: %s", l, p.stderr.String())
		p.addr = addr
	case <-time.After(30 * time.Second):
		t.Fatal("echo printed no URL within 30s")
	}
	return p
}

// stop sends SIGTERM and checks that the server exits with status 0
// (and, when built with -race, that it found no race).
func (p *echoProcess) stop(t *testing.T) {
	t.Helper()
	p.once.Do(func() {
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		select {
		case err := <-p.exited:
			assert.NoError(t, err, "echo should exit cleanly on SIGTERM; stderr:\n%s", p.stderr.String())
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
			t.Error("echo did not exit within 30s of SIGTERM")
		}
		assert.NotContains(t, p.stderr.String(), "DATA RACE")
	})
}

// lockedBuffer is a bytes.Buffer safe for the writes of exec's copying
// goroutine and the test's reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
