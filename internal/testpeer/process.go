package testpeer

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to listen.
const startTimeout = 10 * time.Second

// Require returns the path of program, or skips the test (fails it
// under CI=true) saying which Debian package provides it.
func Require(t testing.TB, program, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		// Debian puts nginx in /usr/sbin, which a user's PATH may lack.
		if _, serr := os.Stat("/usr/sbin/" + program); serr == nil {
			return "/usr/sbin/" + program
		}
		msg := fmt.Sprintf("%s not found (%v); install it with apt-get install -y %s", program, err, pkg)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// process is a server running in the foreground.
type process struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	out    Buffer // its stdout and stderr, for failure messages
}

// start runs path with args, waits until network addr accepts a
// connection, and registers a cleanup that stops the process. It waits
// by dialling, because nginx prints nothing when it is ready.
func start(t testing.TB, name, path string, args []string, network, addr string) *process {
	t.Helper()
	p := &process{name: name, cmd: exec.Command(path, args...), exited: make(chan struct{})}
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	p.cmd.SysProcAttr = procAttr()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			c.Close()
			return p
		}
		select {
		case <-tick.C:
		case <-p.exited:
			t.Fatalf("%s exited before listening on %s: %v\n%s", name, addr, p.cmd.ProcessState, p.out.String())
		case <-ctx.Done():
			p.stop()
			t.Fatalf("%s not listening on %s after %v: %v\n%s", name, addr, startTimeout, err, p.out.String())
		}
	}
}

// stop sends SIGTERM to the process and waits for it to exit, sending
// SIGKILL after a few seconds. It is safe to call more than once.
func (p *process) stop() {
	p.signal(syscall.SIGTERM)
}

// kill ends the process at once, as a crash would.
func (p *process) kill() {
	p.signal(syscall.SIGKILL)
}

func (p *process) signal(sig syscall.Signal) {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// A Buffer is a bytes.Buffer safe for concurrent use: for the output of
// a process or a server that the test reads while it runs.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// FreePort returns a loopback address with a port that was free a moment
// ago, for servers that cannot pick their own and say which.
func FreePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
