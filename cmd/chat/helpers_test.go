package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/require"
)

// waitTimeout bounds every wait in these tests; nothing should come near.
const waitTimeout = 10 * time.Second

// wire is any message the server sends, decoded.
type wire struct {
	Type       string  `json:"type"`
	Seq        uint64  `json:"seq"`
	Time       string  `json:"time"`
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Old        string  `json:"old"`
	Text       string  `json:"text"`
	Reason     string  `json:"reason"`
	Epoch      string  `json:"epoch"`
	Last       uint64  `json:"last"`
	Users      []user  `json:"users"`
	MaxMessage int     `json:"max_message"`
	Rate       float64 `json:"rate"`
	Burst      int     `json:"burst"`
	After      uint64  `json:"after"`
	First      uint64  `json:"first"`
	Code       string  `json:"code"`
	Ref        string  `json:"ref"`
	RetryMS    int64   `json:"retry_ms"`
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testLogger discards records unless the test is verbose.
func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newTestRoom starts a room over an in-memory broker that keeps keep
// messages, and closes it when the test ends. Unset limits are loose:
// no rate limit, a long queue.
func newTestRoom(t *testing.T, cfg roomConfig, keep int) *Room {
	t.Helper()
	return newTestRoomOver(t, newMemBroker(keep), cfg)
}

// newTestRoomOver starts a room over b, like newTestRoom.
func newTestRoomOver(t *testing.T, b Broker, cfg roomConfig) *Room {
	t.Helper()
	if cfg.Queue == 0 {
		cfg.Queue = 1000
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	r, err := newRoom(b, cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		r.Close(ctx)
	})
	return r
}

// peer is a test client of a room.
type peer struct {
	t    *testing.T
	conn *ws.Conn
	done chan struct{} // closed when the room's Serve returns
}

// join connects a client to r over an in-memory pipe. Writes on a pipe
// wait for the reader, so a peer that does not read holds up the
// server's writer at once: a client as slow as can be.
func join(t *testing.T, r *Room, req joinRequest) *peer {
	t.Helper()
	a, b := net.Pipe()
	srv := ws.NewConn(a, nil)
	cli := ws.NewConn(b, &ws.ConnOptions{Client: true})
	p := &peer{t: t, conn: cli, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		r.Serve(srv, req)
	}()
	t.Cleanup(func() {
		cli.CloseNow()
		select {
		case <-p.done:
		case <-time.After(waitTimeout):
			t.Error("Serve did not return after its client went away")
		}
	})
	return p
}

// read returns the next message, failing the test after waitTimeout.
func (p *peer) read() wire {
	p.t.Helper()
	m, err := p.tryRead()
	require.NoError(p.t, err)
	return m
}

func (p *peer) tryRead() (wire, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return readWire(ctx, p.conn)
}

func readWire(ctx context.Context, c *ws.Conn) (wire, error) {
	typ, data, err := c.Read(ctx)
	if err != nil {
		return wire{}, err
	}
	if typ != ws.MessageText {
		return wire{}, &json.UnsupportedValueError{Str: "binary message"}
	}
	var m wire
	err = json.Unmarshal(data, &m)
	return m, err
}

// readType reads until a message of type typ, and returns it.
func (p *peer) readType(typ string) wire {
	p.t.Helper()
	for {
		m := p.read()
		if m.Type == typ {
			return m
		}
	}
}

// welcome reads the welcome and the join that makes the peer a member
// everyone knows, and returns the welcome.
func (p *peer) welcome() wire {
	p.t.Helper()
	w := p.read()
	require.Equal(p.t, typeWelcome, w.Type)
	for {
		m := p.read()
		if m.Type == typeJoin && m.ID == w.ID {
			return w
		}
	}
}

// send writes a command.
func (p *peer) send(cmd command) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(p.t, writeCommand(ctx, p.conn, cmd))
}

func writeCommand(ctx context.Context, c *ws.Conn, cmd command) error {
	b, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	return c.Write(ctx, ws.MessageText, b)
}

// say sends a chat message.
func (p *peer) say(text string) { p.send(command{Type: cmdSend, Text: text}) }
