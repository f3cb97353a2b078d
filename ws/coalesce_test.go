package ws_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingConn counts the writes made to a net.Conn.
type countingConn struct {
	net.Conn
	writes atomic.Int32
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// pipelinePeer returns a server Conn over one end of a pipe whose writes
// are counted, and a raw client peer on the other.
func pipelinePeer(t *testing.T) (*ws.Conn, *countingConn, *rawPeer) {
	a, b := net.Pipe()
	cc := &countingConn{Conn: a}
	c := ws.NewConn(cc, nil)
	t.Cleanup(func() {
		c.CloseNow()
		b.Close()
	})
	return c, cc, newRawPeer(b)
}

// batch returns n masked text frames "0", "1", ... back to back.
func batch(n int) []byte {
	var b []byte
	for i := range n {
		b = append(b, clientFrame(wireFrame(0x81, fmt.Appendf(nil, "%d", i)))...)
	}
	return b
}

// TestPipelinedRepliesCoalesce sends a batch of messages in one write and
// checks that the replies, one per message, go out in far fewer writes:
// each is held while more of the batch waits to be read, and they leave
// together when the reader runs out (see coalesce.go).
func TestPipelinedRepliesCoalesce(t *testing.T) {
	for _, streaming := range []bool{false, true} {
		t.Run(fmt.Sprintf("streaming=%v", streaming), func(t *testing.T) {
			checkGoroutines(t)
			c, cc, peer := pipelinePeer(t)
			handle := echo
			if streaming {
				handle = streamingEcho
			}
			done := make(chan error, 1)
			go func() { done <- handle(context.Background(), c) }()
			frames := peer.frames(t)
			const n = 16
			peer.send(t, batch(n))
			for i := range n {
				f := recv(t, frames)
				require.NoError(t, f.err)
				assert.Equal(t, fmt.Sprint(i), string(f.payload), "replies in order")
			}
			assert.LessOrEqual(t, cc.writes.Load(), int32(2), "%d replies took %d writes", n, cc.writes.Load())

			// A lone message, with nothing behind it, is answered at once.
			before := cc.writes.Load()
			peer.send(t, clientFrame(wireFrame(0x81, []byte("alone"))))
			f := recv(t, frames)
			assert.Equal(t, "alone", string(f.payload))
			assert.Equal(t, before+1, cc.writes.Load())
			c.CloseNow()
			<-done
		})
	}
}

// TestHeldReplyLeavesWithoutAnotherRead: an application that answers one
// message of a batch and then stops reading still gets its reply out,
// after at most the short flush delay.
func TestHeldReplyLeavesWithoutAnotherRead(t *testing.T) {
	checkGoroutines(t)
	c, _, peer := pipelinePeer(t)
	frames := peer.frames(t)
	go peer.Write(batch(2))
	_, p, err := c.Read(t.Context())
	require.NoError(t, err)
	require.NoError(t, c.Write(t.Context(), ws.MessageText, p)) // held: "1" waits unread
	f := recv(t, frames)
	require.NoError(t, f.err)
	assert.Equal(t, "0", string(f.payload))
}

// TestHeldReplyLeavesBeforeCloseNow: a reply Write reported written is
// sent even if the application closes the connection right after.
func TestHeldReplyLeavesBeforeCloseNow(t *testing.T) {
	checkGoroutines(t)
	c, _, peer := pipelinePeer(t)
	frames := peer.frames(t)
	go peer.Write(batch(2))
	_, p, err := c.Read(t.Context())
	require.NoError(t, err)
	require.NoError(t, c.Write(t.Context(), ws.MessageText, append(p, bytes.Repeat([]byte("!"), 100)...)))
	c.CloseNow()
	f := recv(t, frames)
	require.NoError(t, f.err)
	assert.Equal(t, "0"+string(bytes.Repeat([]byte("!"), 100)), string(f.payload))
}

// TestCloseAfterReadingExactPayload reads an echoed message that was
// written in one large Write, stopping at its last byte without reading
// its end, and then closes: the closing handshake must complete, which it
// cannot if the message ended with a frame the reader never reached.
func TestCloseAfterReadingExactPayload(t *testing.T) {
	checkGoroutines(t)
	srv, errs := serve(t, nil, streamingEcho)
	c := dial(t, srv, &ws.DialOptions{Config: ws.Config{Compression: ws.CompressionDisabled}})
	msg := binaryOfSize(16 << 10)
	w, err := c.Writer(t.Context(), ws.MessageBinary)
	require.NoError(t, err)
	_, err = w.Write(msg)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	_, r, err := c.Reader(t.Context())
	require.NoError(t, err)
	got := make([]byte, len(msg))
	_, err = io.ReadFull(r, got)
	require.NoError(t, err)
	assert.Equal(t, msg, got)
	require.NoError(t, c.Close(ws.StatusNormalClosure, ""))
	assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(recv(t, errs)))
}
