package hostile

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/internal/testprog"
	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
)

// authToken is the API token examples/auth runs with.
const authToken = "hostile-suite-token"

// healthTimeout bounds a well-behaved client's visit.
const healthTimeout = 20 * time.Second

// server is one of the programs under attack.
type server struct {
	name string
	args []string // flags besides -addr
	path string   // where the WebSocket is served
	// extra holds header lines every handshake must carry to get past
	// the application (auth's bearer token), each ending in CRLF.
	extra string
	// readHeaderTimeout is the server's http.Server.ReadHeaderTimeout.
	readHeaderTimeout time.Duration
	// graceful is set when SIGTERM makes the server close its clients
	// and exit with status 0.
	graceful bool
	// visit is a well-behaved client's visit: it must succeed.
	visit func(ctx context.Context, s *instance) error
}

var servers = []*server{
	{name: "echo", graceful: true, path: "/", readHeaderTimeout: 10 * time.Second, visit: visitEcho},
	{name: "chat", graceful: true, path: "/ws", readHeaderTimeout: 5 * time.Second, visit: visitChat},
	{name: "push", graceful: true, args: []string{"-interval", "1h"}, path: "/ws", readHeaderTimeout: 5 * time.Second, visit: visitPush},
	{name: "auth", args: []string{"-token", authToken}, path: "/ws", extra: "Authorization: Bearer " + authToken + "\r\n",
		readHeaderTimeout: 5 * time.Second, visit: visitAuth},
}

func serverNamed(name string) *server {
	for _, s := range servers {
		if s.name == name {
			return s
		}
	}
	panic("hostile: no server " + name)
}

// instance is a running server.
type instance struct {
	*server
	proc *testprog.Process
}

// start runs the server on a free loopback port, with more flags.
func (sv *server) start(t *testing.T, more ...string) *instance {
	t.Helper()
	args := append([]string{"-addr", "127.0.0.1:0"}, sv.args...)
	return &instance{sv, testprog.Start(t, bins[sv.name], append(args, more...)...)}
}

// stop stops a graceful server (see testprog.Process.Stop); any other
// is killed when the test ends, and must have reported no race.
func (s *instance) stop(t *testing.T) {
	t.Helper()
	if s.graceful {
		s.proc.Stop(t)
		return
	}
	assert.NotContains(t, s.proc.Stderr(), "DATA RACE")
}

// url is the WebSocket URL of the server.
func (s *instance) url() string { return "ws://" + s.proc.Addr + s.path }

// healthy checks that a well-behaved client is served.
func (s *instance) healthy(t *testing.T) error {
	ctx, cancel := context.WithTimeout(t.Context(), healthTimeout)
	defer cancel()
	return s.visit(ctx, s)
}

var visits atomic.Int64

// visitEcho sends a message and checks that it comes back.
func visitEcho(ctx context.Context, s *instance) error {
	c, _, err := ws.Dial(ctx, s.url(), nil)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	want := fmt.Sprintf("well-behaved visit %d", visits.Add(1))
	if err := c.Write(ctx, ws.MessageText, []byte(want)); err != nil {
		return err
	}
	typ, p, err := c.Read(ctx)
	if err != nil {
		return err
	}
	if typ != ws.MessageText || string(p) != want {
		return fmt.Errorf("echo sent back %v %q, want text %q", typ, p, want)
	}
	return c.Close(ws.StatusNormalClosure, "")
}

// chatEvent is what a chat client receives: the fields the suite reads.
type chatEvent struct {
	Type   string `json:"type"`
	Name   string `json:"name"`
	Text   string `json:"text"`
	Reason string `json:"reason"`
}

// visitChat joins the room, says something and waits to hear it back.
func visitChat(ctx context.Context, s *instance) error {
	n := visits.Add(1)
	c, _, err := ws.Dial(ctx, fmt.Sprintf("%s?name=visitor%d", s.url(), n), nil)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	var ev chatEvent
	if err := readChat(ctx, c, &ev); err != nil {
		return err
	}
	if ev.Type != "welcome" {
		return fmt.Errorf("chat's first message is %q, want a welcome", ev.Type)
	}
	want := fmt.Sprintf("well-behaved visit %d", n)
	cmd, _ := json.Marshal(map[string]string{"type": "send", "text": want})
	if err := c.Write(ctx, ws.MessageText, cmd); err != nil {
		return err
	}
	for ev.Type != "message" || ev.Text != want {
		if err := readChat(ctx, c, &ev); err != nil {
			return fmt.Errorf("waiting for our own message: %w", err)
		}
	}
	// Others' messages may still come: keep reading while closing, as
	// Close leaves messages to the read loop.
	read := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.Read(ctx); err != nil {
				read <- err
				return
			}
		}
	}()
	err = c.Close(ws.StatusNormalClosure, "")
	<-read
	return err
}

// readChat reads one chat message into ev.
func readChat(ctx context.Context, c *ws.Conn, ev *chatEvent) error {
	_, p, err := c.Read(ctx)
	if err != nil {
		return err
	}
	*ev = chatEvent{}
	return json.Unmarshal(p, ev)
}

// visitPush waits for the first push.
func visitPush(ctx context.Context, s *instance) error {
	return visitGreeting(ctx, s, nil, "hello i am 0")
}

// visitAuth logs in with the token and waits for the greeting.
func visitAuth(ctx context.Context, s *instance) error {
	h := http.Header{"Authorization": {"Bearer " + authToken}}
	return visitGreeting(ctx, s, &ws.DialOptions{Header: h}, "hello, API client: you are authenticated")
}

// visitGreeting connects, checks the server's first message and closes.
func visitGreeting(ctx context.Context, s *instance, opts *ws.DialOptions, want string) error {
	c, _, err := ws.Dial(ctx, s.url(), opts)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	_, p, err := c.Read(ctx)
	if err != nil {
		return err
	}
	if string(p) != want {
		return fmt.Errorf("%s sent %q, want %q", s.name, p, want)
	}
	return c.Close(ws.StatusNormalClosure, "")
}
