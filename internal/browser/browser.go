//go:build linux

package browser

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Chromium is where Debian's chromium package puts the browser.
const Chromium = "/usr/bin/chromium"

// Args are the flags Launch starts the browser with, before its
// --user-data-dir: headless, no sandbox (tests may run as root), and
// nothing that would reach the network on its own.
var Args = []string{
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
}

// A Browser is a running headless Chromium. Its methods are safe for
// concurrent use.
type Browser struct {
	// DevToolsURL is the browser's DevTools WebSocket endpoint.
	DevToolsURL string

	cmd    *exec.Cmd
	exited chan struct{} // closed when the browser process has exited
	gone   chan struct{} // closed when every process holding stderr has
	mu     sync.Mutex
	tail   []byte // the end of stderr, for error messages
}

// tailSize bounds the stderr Browser keeps.
const tailSize = 16 << 10

// Launch starts the browser at path with a fresh profile in userDataDir
// and DevTools on a free port, and waits, within ctx, for the line that
// says where DevTools listens. The browser runs in its own process group,
// which Close ends.
func Launch(ctx context.Context, path, userDataDir string) (*Browser, error) {
	args := append(append([]string(nil), Args...),
		"--user-data-dir="+userDataDir,
		"--remote-debugging-port=0",
		"about:blank")
	cmd := exec.Command(path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,            // so Close can end the renderers too
		Pdeathsig: syscall.SIGKILL, // and a dying test takes the browser along
	}
	// Children inherit stderr; reading it to EOF means all of them have
	// exited.
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("browser: start %s: %w", path, err)
	}
	w.Close()
	b := &Browser{cmd: cmd, exited: make(chan struct{}), gone: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(b.exited)
	}()

	found := make(chan string, 1)
	go func() {
		defer close(b.gone)
		defer r.Close()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 4096), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			b.keep(line)
			if u, ok := strings.CutPrefix(line, "DevTools listening on "); ok {
				select {
				case found <- strings.TrimSpace(u):
				default:
				}
			}
		}
		io.Copy(io.Discard, r)
	}()

	select {
	case u := <-found:
		b.DevToolsURL = u
		return b, nil
	case <-b.exited:
		err = errors.New("browser: exited before DevTools was listening")
	case <-ctx.Done():
		err = fmt.Errorf("browser: waiting for DevTools: %w", ctx.Err())
	}
	b.Close()
	return nil, fmt.Errorf("%w; stderr:\n%s", err, b.Stderr())
}

func (b *Browser) keep(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tail = append(b.tail, line...)
	b.tail = append(b.tail, '\n')
	if len(b.tail) > tailSize {
		b.tail = b.tail[len(b.tail)-tailSize:]
	}
}

// Stderr returns the end of what the browser has written to stderr.
func (b *Browser) Stderr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.tail)
}

// Close ends the browser: SIGTERM to its process group, SIGKILL if it is
// still there after a few seconds, and then waits until every process of
// the group has exited, so the profile directory can be removed.
func (b *Browser) Close() error {
	pgid := b.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(5 * time.Second):
	}
	// Renderers may outlive the main process by a moment.
	syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-b.gone:
		<-b.exited
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("browser: processes still hold stderr 10s after SIGKILL")
	}
}
