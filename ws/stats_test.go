package ws_test

import (
	"context"
	"io"
	"runtime"
	"testing"
	"testing/synctest"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStats runs a known exchange, in every way a message can be written
// and read, and checks each end's counters: payload bytes of data
// messages, messages once whole, the close codes each way, and the RTT.
// It runs on the real clock, since an RTT measured in a synctest bubble
// is 0.
func TestStats(t *testing.T) {
	t.Parallel()
	srv, cli := pipePair(t, nil, nil)
	ctx := t.Context()
	assert.Equal(t, ws.Stats{}, cli.Stats(), "nothing counted yet")

	// Client to server: Write (5 bytes), Writer in three pieces (1000).
	served := make(chan error, 1)
	go func() {
		defer close(served)
		_, p, err := srv.Read(ctx)
		if err == nil && string(p) != "hello" {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			served <- err
			return
		}
		_, r, err := srv.Reader(ctx)
		if err == nil {
			var n int64
			n, err = io.Copy(io.Discard, r)
			if err == nil && n != 1000 {
				err = io.ErrShortWrite
			}
		}
		if err != nil {
			served <- err
			return
		}
		// Server to client: WritePrepared (10 bytes), then an empty
		// message, which counts as a message of no bytes.
		pm, err := ws.NewPreparedMessage(ws.MessageBinary, binaryOfSize(10))
		if err == nil {
			err = srv.WritePrepared(ctx, pm)
		}
		if err == nil {
			err = srv.Write(ctx, ws.MessageText, nil)
		}
		if err != nil {
			served <- err
			return
		}
		// Keep reading, so that the client's Ping and Close are answered.
		_, _, err = srv.Read(ctx)
		served <- err
	}()

	require.NoError(t, cli.Write(ctx, ws.MessageText, []byte("hello")))
	w, err := cli.Writer(ctx, ws.MessageBinary)
	require.NoError(t, err)
	for _, n := range []int{400, 0, 600} {
		_, err := w.Write(binaryOfSize(n))
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	_, p, err := cli.Read(ctx)
	require.NoError(t, err)
	assert.Len(t, p, 10)
	_, p, err = cli.Read(ctx)
	require.NoError(t, err)
	assert.Empty(t, p)

	msgs := readLoop(t, cli) // for the pong and the close frame
	require.NoError(t, cli.Ping(ctx))
	require.NoError(t, cli.Close(ws.StatusNormalClosure, "bye"))
	assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(recv(t, served)))
	assert.Error(t, recv(t, msgs).err, "the client's read loop ends")

	cs := cli.Stats()
	assert.Positive(t, cs.RTT)
	assert.Equal(t, cli.RTT(), cs.RTT)
	cs.RTT = 0
	assert.Equal(t, ws.Stats{
		MessagesOut: 2, BytesOut: 1005,
		MessagesIn: 2, BytesIn: 10,
		CloseSent: ws.StatusNormalClosure, CloseReceived: ws.StatusNormalClosure,
	}, cs, "client")
	assert.Equal(t, ws.Stats{
		MessagesIn: 2, BytesIn: 1005,
		MessagesOut: 2, BytesOut: 10,
		CloseSent: ws.StatusNormalClosure, CloseReceived: ws.StatusNormalClosure,
	}, srv.Stats(), "server: no ping of its own, so no RTT")
}

// TestStatsPartial checks what is counted of messages that do not arrive
// whole, and the close code of a connection failed for a protocol error.
func TestStatsPartial(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, peer := pipe(t, nil)
		// A message read halfway through a Reader, then a protocol
		// violation: a frame the client did not mask (RFC 6455 §5.1).
		sent := make(chan error, 1)
		go func() {
			_, err := peer.Write(append(clientFrame("\x82\x06abcdef"), "\x81\x02no"...))
			sent <- err
		}()
		_, r, err := c.Reader(t.Context())
		require.NoError(t, err)
		var half [3]byte
		_, err = io.ReadFull(r, half[:])
		require.NoError(t, err)
		frames := peer.frames(t)
		_, _, err = c.Read(t.Context())
		require.Error(t, err)
		f := recv(t, frames)
		require.Equal(t, opClose, f.op)
		require.NoError(t, recv(t, sent))

		assert.Equal(t, ws.Stats{
			BytesIn:   3, // the bytes the application took; no whole message
			CloseSent: ws.StatusProtocolError,
		}, c.Stats())
	})
}

// TestStatsCloseWithoutCode checks that a close frame without a code is
// reported as StatusNoStatus both ways (RFC 6455 §7.1.5).
func TestStatsCloseWithoutCode(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, cli := pipePair(t, nil, nil)
		readLoop(t, srv)
		msgs := readLoop(t, cli)
		require.NoError(t, cli.Close(ws.StatusNoStatus, ""))
		recv(t, msgs)
		assert.Equal(t, ws.StatusNoStatus, cli.Stats().CloseSent)
		assert.Equal(t, ws.StatusNoStatus, cli.Stats().CloseReceived)
		assert.Equal(t, ws.StatusNoStatus, srv.Stats().CloseReceived)
	})
}

// TestStatsConcurrent reads Stats while messages flow both ways, for the
// race detector, and checks that the counts never go back.
func TestStatsConcurrent(t *testing.T) {
	t.Parallel()
	srv, cli := pipePair(t, nil, nil)
	echoed := make(chan error, 1)
	go func() { echoed <- echo(context.Background(), srv) }()
	msgs := readLoop(t, cli)
	stop := make(chan struct{})
	backwards := make(chan int, 1)
	go func() {
		var last ws.Stats
		n := 0
		for {
			select {
			case <-stop:
				backwards <- n
				return
			default:
			}
			s := cli.Stats()
			if s.MessagesIn < last.MessagesIn || s.BytesIn < last.BytesIn ||
				s.MessagesOut < last.MessagesOut || s.BytesOut < last.BytesOut {
				n++
			}
			last = s
			runtime.Gosched()
		}
	}()
	const n = 100
	for range n {
		require.NoError(t, cli.Write(t.Context(), ws.MessageBinary, binaryOfSize(7)))
		require.NoError(t, recv(t, msgs).err)
	}
	close(stop)
	assert.Zero(t, recv(t, backwards), "a counter went backwards")
	require.NoError(t, cli.Close(ws.StatusNormalClosure, ""))
	recv(t, echoed)
	assert.Equal(t, ws.Stats{
		MessagesIn: n, BytesIn: 7 * n, MessagesOut: n, BytesOut: 7 * n,
		CloseSent: ws.StatusNormalClosure, CloseReceived: ws.StatusNormalClosure,
	}, srv.Stats())
}
