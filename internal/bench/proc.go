package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A proc is a server running in its own process, so that its CPU time and
// memory can be read from /proc apart from the load generator's.
type proc struct {
	target
	cmd    *exec.Cmd
	pid    int
	stdin  io.WriteCloser // nil for examples/echo, which reads no commands
	out    *bufio.Reader
	stderr *tail
	exited chan struct{}
}

var listenLine = regexp.MustCompile(`listening on ws://(127\.\d+\.\d+\.\d+:\d+)`)

// startProc runs argv and waits for it to print the address it listens on.
func startProc(name string, raw bool, argv ...string) (*proc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	// The server dies with us, however we end.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &proc{target: target{name: name, raw: raw}, cmd: cmd, stderr: new(tail), exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p.pid = cmd.Process.Pid
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	p.out = bufio.NewReader(stdout)
	lines := make(chan string, 1)
	go func() {
		// Bounded: the process prints its address first, or exits.
		for range 100 {
			line, err := p.out.ReadString('\n')
			if m := listenLine.FindStringSubmatch(line); m != nil {
				lines <- m[1]
				return
			}
			if err != nil {
				break
			}
		}
		close(lines)
	}()
	select {
	case addr, ok := <-lines:
		if ok {
			p.addr = addr
			return p, nil
		}
	case <-time.After(30 * time.Second):
	}
	p.stop()
	return nil, fmt.Errorf("%s did not report its address: %s", name, p.stderr)
}

// command sends one line to the server and returns its one-line answer.
func (p *proc) command(line string, timeout time.Duration) (string, error) {
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		return "", fmt.Errorf("%s: %w", p.name, err)
	}
	type reply struct {
		s   string
		err error
	}
	c := make(chan reply, 1)
	go func() {
		s, err := p.out.ReadString('\n')
		c <- reply{strings.TrimSpace(s), err}
	}()
	select {
	case r := <-c:
		if r.err != nil {
			return "", fmt.Errorf("%s: %w: %s", p.name, r.err, p.stderr)
		}
		if strings.HasPrefix(r.s, "error") {
			return "", fmt.Errorf("%s: %s", p.name, r.s)
		}
		return r.s, nil
	case <-time.After(timeout):
		// The reader goroutine ends when stop closes the pipe.
		return "", fmt.Errorf("%s: no answer to %q within %v", p.name, line, timeout)
	}
}

// stop kills the server and waits for it, briefly.
func (p *proc) stop() {
	if p.stdin != nil {
		p.stdin.Close()
	}
	p.cmd.Process.Kill()
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
	}
}

// clockTick is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTick = 100

// cpu returns the server's user plus system CPU time, over all its
// threads, from /proc/PID/stat. Its resolution is 1/clockTick s.
func (p *proc) cpu() (time.Duration, error) {
	return procCPU(p.pid)
}

func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, may hold spaces; it ends at the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("bench: malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("bench: short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bench: malformed /proc stat times")
	}
	return time.Duration(ut+st) * time.Second / clockTick, nil
}

// rss returns the server's resident set size (VmRSS) in bytes.
func (p *proc) rss() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("bench: no VmRSS")
}

// selfCPU returns the load generator's own CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// tail keeps the last few KiB written to it: a server's stderr, for error
// messages. It is safe for concurrent use.
type tail struct {
	mu sync.Mutex
	b  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	const keep = 4 << 10
	t.mu.Lock()
	t.b = append(t.b, p...)
	if len(t.b) > keep {
		t.b = append(t.b[:0], t.b[len(t.b)-keep:]...)
	}
	t.mu.Unlock()
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
