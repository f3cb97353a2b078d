package ws_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tcpPeer returns a server Conn over a loopback TCP connection, whose
// descriptor lets an idle Conn wait without its read buffer (idle.go),
// and a raw client peer on the other end.
func tcpPeer(t *testing.T, opts *ws.ConnOptions) (*ws.Conn, *rawPeer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cli, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	srv, err := ln.Accept()
	require.NoError(t, err)
	c := ws.NewConn(srv, opts)
	t.Cleanup(func() {
		c.CloseNow()
		cli.Close()
	})
	return c, newRawPeer(cli)
}

// TestIdleWait reads over TCP, where a Conn waits for each message with
// its buffer given back: messages, interrupted waits, and the ends of the
// connection all behave as they do with the buffer held.
func TestIdleWait(t *testing.T) {
	t.Run("messages after waits", func(t *testing.T) {
		checkGoroutines(t)
		c, peer := tcpPeer(t, nil)
		for i := range 3 {
			msg := fmt.Appendf(nil, "message %d", i)
			go peer.Write(clientFrame(wireFrame(0x81, msg)))
			typ, p, err := c.Read(t.Context())
			require.NoError(t, err)
			assert.Equal(t, ws.MessageText, typ)
			assert.Equal(t, msg, p)
		}
	})
	t.Run("a frame cut across writes", func(t *testing.T) {
		checkGoroutines(t)
		c, peer := tcpPeer(t, nil)
		f := clientFrame(wireFrame(0x82, bytes.Repeat([]byte("x"), 300)))
		got := make(chan []byte, 1)
		go func() {
			_, p, _ := c.Read(context.Background())
			got <- p
		}()
		for _, cut := range [][]byte{f[:1], f[1:5], f[5:100], f[100:]} {
			peer.send(t, cut)
		}
		assert.Equal(t, bytes.Repeat([]byte("x"), 300), <-got)
	})
	t.Run("a burst larger than the buffer", func(t *testing.T) {
		checkGoroutines(t)
		c, peer := tcpPeer(t, nil)
		const n = 8000
		burst := batch(n)
		require.Greater(t, len(burst), 4*ws.DefaultBufferSize, "several buffers' worth")
		go peer.Write(burst)
		for i := range n {
			_, p, err := c.Read(t.Context())
			require.NoError(t, err)
			require.Equal(t, fmt.Sprint(i), string(p))
		}
	})
	t.Run("deadline while waiting, then a message", func(t *testing.T) {
		checkGoroutines(t)
		c, peer := tcpPeer(t, nil)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		_, _, err := c.Read(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		peer.send(t, clientFrame(wireFrame(0x81, []byte("still here"))))
		_, p, err := c.Read(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "still here", string(p))
	})
	// Either end going away ends the wait: ours with net.ErrClosed, the
	// peer's without a close frame as an abnormal closure (1006).
	for _, end := range []struct {
		name  string
		close func(c *ws.Conn, peer *rawPeer)
		check func(t *testing.T, err error)
	}{
		{"closed while waiting", func(c *ws.Conn, _ *rawPeer) { c.CloseNow() }, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, net.ErrClosed)
		}},
		{"peer gone while waiting", func(_ *ws.Conn, peer *rawPeer) { peer.Close() }, func(t *testing.T, err error) {
			assert.Equal(t, ws.StatusAbnormalClosure, ws.CloseStatus(err), "%v", err)
		}},
		{"peer reset while waiting", func(_ *ws.Conn, peer *rawPeer) {
			peer.Conn.(*net.TCPConn).SetLinger(0) // close with a reset
			peer.Close()
		}, func(t *testing.T, err error) {
			assert.Equal(t, ws.StatusAbnormalClosure, ws.CloseStatus(err), "%v", err)
			assert.ErrorIs(t, err, syscall.ECONNRESET)
			var op *net.OpError
			assert.ErrorAs(t, err, &op, "the error names the connection, as net.Conn's would")
		}},
	} {
		t.Run(end.name, func(t *testing.T) {
			checkGoroutines(t)
			c, peer := tcpPeer(t, nil)
			done := make(chan error, 1)
			go func() {
				_, _, err := c.Read(context.Background())
				done <- err
			}()
			end.close(c, peer)
			end.check(t, <-done)
		})
	}
}

// countingTCP embeds a *net.TCPConn, and with it SyscallConn, but counts
// what its Read returns, as a metrics wrapper would.
type countingTCP struct {
	*net.TCPConn
	read int
}

func (c *countingTCP) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	c.read += n
	return n, err
}

// TestIdleWaitKeepsWrappers checks that a Conn over a wrapper of a TCP
// connection reads through the wrapper, though the wrapper offers the
// socket's descriptor: nothing the peer sends bypasses its Read.
func TestIdleWaitKeepsWrappers(t *testing.T) {
	checkGoroutines(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cli, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer cli.Close()
	srv, err := ln.Accept()
	require.NoError(t, err)
	wrapped := &countingTCP{TCPConn: srv.(*net.TCPConn)}
	c := ws.NewConn(wrapped, nil)
	defer c.CloseNow()

	var sent int
	for i := range 3 {
		f := clientFrame(wireFrame(0x82, fmt.Appendf(nil, "message %d", i)))
		sent += len(f)
		go cli.Write(f)
		_, _, err := c.Read(t.Context())
		require.NoError(t, err)
	}
	assert.Equal(t, sent, wrapped.read, "bytes read through the wrapper")
}
