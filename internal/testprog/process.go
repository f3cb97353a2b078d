package testprog

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startTimeout bounds the wait for a program's first line.
const startTimeout = 30 * time.Second

// A Process is a running program. Its methods are safe for concurrent
// use.
type Process struct {
	// Addr is the host:port the program listens on, taken from the URL
	// in the first line it prints.
	Addr string

	cmd    *exec.Cmd
	name   string
	stderr lockedBuffer
	exited chan error
	done   chan struct{} // closed when the process has ended
	once   sync.Once
}

// Start runs bin with args and waits for its first line on stdout, which
// must hold a URL such as "ws://127.0.0.1:41234" or
// "http://127.0.0.1:41234/"; its host and port become Addr. The process
// is killed when the test ends unless Stop was called.
func Start(t testing.TB, bin string, args ...string) *Process {
	t.Helper()
	p := &Process{cmd: exec.Command(bin, args...), exited: make(chan error, 1), done: make(chan struct{})}
	p.name = p.cmd.Path
	if i := strings.LastIndexByte(p.name, '/'); i >= 0 {
		p.name = p.name[i+1:]
	}
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
		err := p.cmd.Wait()
		close(p.done)
		p.exited <- err
	}()
	t.Cleanup(func() {
		p.once.Do(func() {
			p.cmd.Process.Kill()
			<-p.exited
		})
	})
	select {
	case l := <-line:
		addr, ok := addrOf(l)
		require.True(t, ok, "%s printed %q, want its URL; stderr: %s", p.name, l, p.stderr.String())
		p.Addr = addr
	case <-time.After(startTimeout):
		t.Fatalf("%s printed no URL within %v", p.name, startTimeout)
	}
	return p
}

// addrOf returns the host:port of the first URL in line.
func addrOf(line string) (string, bool) {
	_, rest, ok := strings.Cut(line, "://")
	if !ok {
		return "", false
	}
	end := strings.IndexAny(rest, "/ \t\r\n")
	if end < 0 {
		end = len(rest)
	}
	return rest[:end], end > 0
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stderr returns what the process has written to stderr so far.
func (p *Process) Stderr() string { return p.stderr.String() }

// Running reports whether the process is still running.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// RSS returns the process's resident set size in bytes, from the VmRSS
// line of /proc/<pid>/status.
func (p *Process) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		v, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		kb, ok := bytes.CutSuffix(bytes.TrimSpace(v), []byte(" kB"))
		if !ok {
			break
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(kb)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS %q: %w", v, err)
		}
		return n << 10, nil
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", p.Pid())
}

// Stop sends SIGTERM and checks that the program exits with status 0
// within 30 seconds and, when built with -race, that it found no race.
func (p *Process) Stop(t testing.TB) {
	t.Helper()
	p.once.Do(func() {
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		select {
		case err := <-p.exited:
			assert.NoError(t, err, "%s should exit cleanly on SIGTERM; stderr:\n%s", p.name, p.stderr.String())
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
			t.Errorf("%s did not exit within 30s of SIGTERM", p.name)
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
