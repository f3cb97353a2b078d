package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// nodeDir holds package.json, the lockfile and the scripts.
const nodeDir = "node"

const (
	// installTimeout bounds "npm ci".
	installTimeout = 5 * time.Minute
	// startTimeout bounds a script's start, up to its first line.
	startTimeout = 30 * time.Second
	// stopTimeout bounds a script's exit once its stdin is closed; after
	// it the script is killed.
	stopTimeout = 10 * time.Second
)

// errNoNode says that node or npm is not installed.
var errNoNode = errors.New("node and npm are needed to run the Node.js peers")

var (
	installOnce sync.Once
	installErr  error
)

// requireNode makes sure that node, npm and the locked node_modules are
// installed, or ends the test: it skips when node or npm is missing, except
// under CI=true, where a missing peer fails the test.
func requireNode(t *testing.T) {
	t.Helper()
	installOnce.Do(func() { installErr = install() })
	if errors.Is(installErr, errNoNode) && os.Getenv("CI") != "true" {
		t.Skipf("skipping interop test: %v (under CI=true this fails)", installErr)
	}
	if installErr != nil {
		t.Fatal(installErr)
	}
}

// install runs "npm ci" in nodeDir unless node_modules is up to date.
func install() error {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%w: %v", errNoNode, err)
		}
	}
	if installed() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = nodeDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm ci in %s: %v\n%s", nodeDir, err, out)
	}
	if !installed() {
		return fmt.Errorf("npm ci in %s left no node_modules/.package-lock.json\n%s", nodeDir, out)
	}
	return nil
}

// installed reports whether node_modules is newer than package.json and
// the lockfile. npm writes node_modules/.package-lock.json at the end of
// every install, so its time is the install's.
func installed() bool {
	stamp, err := os.Stat(filepath.Join(nodeDir, "node_modules", ".package-lock.json"))
	if err != nil {
		return false
	}
	for _, name := range []string{"package.json", "package-lock.json"} {
		fi, err := os.Stat(filepath.Join(nodeDir, name))
		if err != nil || fi.ModTime().After(stamp.ModTime()) {
			return false
		}
	}
	return true
}

// A peerEvent is one JSON line printed by server.js or client.js. Each
// script documents the fields it sets.
type peerEvent struct {
	ID       string     `json:"id"`
	Event    string     `json:"event"`
	OK       bool       `json:"ok"`
	Error    string     `json:"error"`
	Message  string     `json:"message"`
	Code     int        `json:"code"`
	Reason   string     `json:"reason"`
	Count    int        `json:"count"`
	Digest   string     `json:"digest"`
	Close    *peerClose `json:"close"`
	Sent     *summary   `json:"sent"`
	Pings    int        `json:"pings"`
	Messages int        `json:"messages"`
	// Offer, Extensions and Response tell how permessage-deflate was
	// negotiated, as server.js and client.js document.
	Offer      string `json:"offer"`
	Extensions string `json:"extensions"`
	Response   string `json:"response"`
}

// peerClose is what a ws 'close' event reported.
type peerClose struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

// summary is a Transcript's summary in common.js.
type summary struct {
	Count  int    `json:"count"`
	Digest string `json:"digest"`
}

// A nodePeer is a running node script. Its stdout lines after the first
// are JSON, delivered to the mailbox of their "id".
type nodePeer struct {
	name   string
	cmd    *exec.Cmd
	first  string        // the first line of stdout
	done   chan struct{} // closed when stdout has ended
	stderr tailBuffer

	stdinMu sync.Mutex
	stdin   io.WriteCloser

	mu     sync.Mutex
	boxes  map[string]chan peerEvent
	strays []string // lines that belong to no id, or did not fit
}

// startNode starts node running script with args in nodeDir and waits for
// its first line of stdout. The peer is stopped when the test ends.
func startNode(t *testing.T, script string, args ...string) *nodePeer {
	t.Helper()
	p := &nodePeer{
		name:  script,
		done:  make(chan struct{}),
		boxes: make(map[string]chan peerEvent),
	}
	p.cmd = exec.Command("node", append([]string{script}, args...)...)
	p.cmd.Dir = nodeDir
	p.cmd.Stderr = &p.stderr
	var err error
	p.stdin, err = p.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", script, err)
	}
	t.Cleanup(func() { p.stop(t) })

	first := make(chan string, 1)
	go p.readLines(stdout, first)
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case p.first = <-first:
	case <-p.done:
		t.Fatalf("%s exited before it started\nstderr:\n%s", script, p.stderr.String())
	case <-timer.C:
		t.Fatalf("%s printed nothing within %v\nstderr:\n%s", script, startTimeout, p.stderr.String())
	}
	return p
}

// readLines reads stdout until it ends: the first line goes to first, the
// rest to their mailboxes.
func (p *nodePeer) readLines(stdout io.Reader, first chan<- string) {
	defer close(p.done)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() {
		return
	}
	first <- sc.Text()
	for sc.Scan() {
		var ev peerEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.ID == "" {
			p.stray(sc.Text())
			continue
		}
		select {
		case p.mailbox(ev.ID) <- ev:
		default:
			p.stray(sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		p.stray("reading stdout: " + err.Error())
	}
}

func (p *nodePeer) stray(line string) {
	p.mu.Lock()
	p.strays = append(p.strays, line)
	p.mu.Unlock()
}

// mailbox returns the events of connection id. A connection gets a
// handful, so a small buffer never fills unless a script misbehaves.
func (p *nodePeer) mailbox(id string) chan peerEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	box, ok := p.boxes[id]
	if !ok {
		box = make(chan peerEvent, 16)
		p.boxes[id] = box
	}
	return box
}

// next returns the next event of connection id.
func (p *nodePeer) next(ctx context.Context, id string) (peerEvent, error) {
	select {
	case ev := <-p.mailbox(id):
		return ev, nil
	case <-p.done:
		// Lines read before stdout ended are in the mailbox already.
		select {
		case ev := <-p.mailbox(id):
			return ev, nil
		default:
		}
		return peerEvent{}, fmt.Errorf("%s exited; stderr:\n%s", p.name, p.stderr.String())
	case <-ctx.Done():
		return peerEvent{}, fmt.Errorf("waiting for %s about connection %s: %w", p.name, id, ctx.Err())
	}
}

// send writes v to the script's stdin as one JSON line.
func (p *nodePeer) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	p.stdinMu.Lock()
	defer p.stdinMu.Unlock()
	_, err = p.stdin.Write(append(b, '\n'))
	return err
}

// stop closes the script's stdin, which makes it exit, kills it if it
// does not within stopTimeout, and waits for it. A script that had to be
// killed, exited with an error or printed lines that no test claimed fails
// the test.
func (p *nodePeer) stop(t *testing.T) {
	p.stdinMu.Lock()
	p.stdin.Close()
	p.stdinMu.Unlock()
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	killed := false
	select {
	case <-p.done:
	case <-timer.C:
		killed = true
		p.cmd.Process.Kill()
		<-p.done
	}
	err := p.cmd.Wait()
	switch {
	case killed:
		t.Errorf("%s did not exit within %v of its stdin closing; killed it\nstderr:\n%s", p.name, stopTimeout, p.stderr.String())
	case err != nil:
		t.Errorf("%s: %v\nstderr:\n%s", p.name, err, p.stderr.String())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, line := range p.strays {
		t.Errorf("%s printed an unexpected line: %s", p.name, line)
	}
}

// tailBuffer keeps the last 64 KiB written to it, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	const keep = 64 << 10
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > keep {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-keep:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
