package ws_test

import (
	"context"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGroupShutdown serves several clients over TCP and shuts the Group
// down: each client gets 1001 Going Away with the Group's reason (RFC 6455
// §7.4.1), each server handler sees the closing handshake complete, and
// Shutdown returns once all are closed, leaving no goroutine behind.
func TestGroupShutdown(t *testing.T) {
	checkGoroutines(t)
	g := &ws.Group{Reason: "server restarting"}
	added := make(chan bool, 8)
	srv, errs := serve(t, nil, func(ctx context.Context, c *ws.Conn) error {
		added <- g.Add(c)
		return echo(ctx, c)
	})
	const n = 3
	var loops []<-chan message
	for range n {
		c := dial(t, srv, nil)
		loops = append(loops, readLoop(t, c))
		require.True(t, recv(t, added))
	}
	assert.Equal(t, n, g.Len())

	ctx, cancel := context.WithTimeout(t.Context(), safetyTimeout)
	defer cancel()
	require.NoError(t, g.Shutdown(ctx))
	assert.Zero(t, g.Len())
	for _, msgs := range loops {
		m := recv(t, msgs)
		var ce *ws.CloseError
		require.ErrorAs(t, m.err, &ce)
		assert.Equal(t, ws.StatusGoingAway, ce.Code)
		assert.Equal(t, "server restarting", ce.Reason)
	}
	for range n {
		// The handler's read loop saw the client's answer.
		assert.Equal(t, ws.StatusGoingAway, ws.CloseStatus(recv(t, errs)))
	}

	// A connection accepted after Shutdown is turned away the same way.
	c := dial(t, srv, nil)
	assert.False(t, recv(t, added))
	_, _, err := c.Read(t.Context())
	assert.Equal(t, ws.StatusGoingAway, ws.CloseStatus(err))
	assert.Equal(t, ws.StatusGoingAway, ws.CloseStatus(recv(t, errs)))
	require.NoError(t, g.Shutdown(ctx), "a second Shutdown waits as the first")
}

// TestGroupShutdownDeadline shuts down a Group holding a peer that
// answers and two that never read: Shutdown waits for the handshakes
// until its context ends, then closes the rest at once and says so.
func TestGroupShutdownDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var g ws.Group
		good, cli := pipePair(t, nil, nil)
		readLoop(t, good)
		answered := readLoop(t, cli)
		stuck, peer := pipe(t, nil)
		reading, _ := pipe(t, nil)
		readLoop(t, reading) // its peer never reads: its close frame stalls
		for _, c := range []*ws.Conn{good, stuck, reading} {
			require.True(t, g.Add(c))
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		assert.Equal(t, context.DeadlineExceeded, g.Shutdown(ctx))
		assert.Equal(t, time.Second, time.Since(start), "Shutdown waited until ctx ended, and no longer")
		assert.Zero(t, g.Len())
		assert.Equal(t, ws.StatusGoingAway, ws.CloseStatus(recv(t, answered).err), "the good peer was told")
		_, err := peer.Read(make([]byte, 1))
		assert.Error(t, err, "the stuck peer's connection is closed")
		assert.ErrorIs(t, stuck.Write(t.Context(), ws.MessageText, nil), net.ErrClosed)

		// After a cut, a newcomer is closed at once: nothing would wait
		// for a handshake.
		late, _ := pipe(t, nil)
		assert.False(t, g.Add(late))
		assert.ErrorIs(t, late.Write(t.Context(), ws.MessageText, nil), net.ErrClosed)
		assert.Zero(t, g.Len())
	})
}

// TestGroupForgetsClosed checks that a Group holds only live connections:
// one closed by either end leaves it, and a closed one is not added.
func TestGroupForgetsClosed(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var g ws.Group
		a, _ := pipe(t, nil)
		srv, cli := pipePair(t, nil, nil)
		require.True(t, g.Add(a))
		require.True(t, g.Add(a), "adding twice tracks once")
		require.True(t, g.Add(srv))
		assert.Equal(t, 2, g.Len())

		a.CloseNow()
		assert.Equal(t, 1, g.Len())
		assert.False(t, g.Add(a), "a closed connection is not tracked")

		// The peer closes srv: its read loop completes the handshake.
		msgs := readLoop(t, srv)
		readLoop(t, cli)
		require.NoError(t, cli.Close(ws.StatusNormalClosure, ""))
		assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(recv(t, msgs).err))
		assert.Zero(t, g.Len())
		require.NoError(t, g.Shutdown(t.Context()), "nothing to close")
	})
}
