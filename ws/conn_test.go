package ws_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"testing/synctest"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNewConn runs a client Conn against a server Conn over a net.Pipe:
// NewConn needs no HTTP, only a stream past its handshake.
func TestNewConn(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, cli := pipePair(t, nil, nil)
		echoed := make(chan error, 1)
		go func() { echoed <- echo(context.Background(), srv) }()
		for _, n := range echoSizes {
			for _, typ := range []ws.MessageType{ws.MessageText, ws.MessageBinary} {
				msg := textOfSize(n)
				require.NoError(t, cli.Write(t.Context(), typ, msg))
				gotTyp, got, err := cli.Read(t.Context())
				require.NoError(t, err)
				assert.Equal(t, typ, gotTyp)
				assert.Equal(t, msg, got, "%v of %d bytes", typ, n)
			}
		}
		require.NoError(t, cli.Close(ws.StatusNormalClosure, ""))
		assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(<-echoed))
	})
}

// TestNewConnRoles checks the role each end plays on the wire (RFC 6455
// §5.1): NewConn makes a server unless told otherwise.
func TestNewConnRoles(t *testing.T) {
	t.Parallel()
	for _, opts := range []*ws.ConnOptions{nil, {}, {Client: true}} {
		client := opts != nil && opts.Client
		t.Run(fmt.Sprintf("client=%v", client), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c, peer := pipe(t, opts)
				frames := peer.frames(t)
				require.NoError(t, c.Write(t.Context(), ws.MessageText, []byte("hi")))
				assert.Equal(t, rawFrame{fin: true, op: opText, masked: client, payload: []byte("hi")}, recv(t, frames))
				assert.Empty(t, c.Subprotocol())
			})
		})
	}
}

// noDeadlines hides a net.Conn's deadline methods.
type noDeadlines struct{ io.ReadWriteCloser }

// TestNewConnWithoutDeadlines checks a transport that cannot be
// interrupted: a cancelled Read closes the connection, as NewConn says.
func TestNewConnWithoutDeadlines(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		t.Cleanup(func() { b.Close() })
		c := ws.NewConn(noDeadlines{a}, &ws.ConnOptions{Subprotocol: "chat"})
		t.Cleanup(func() { c.CloseNow() })
		assert.Equal(t, "chat", c.Subprotocol())
		peer := newRawPeer(b)

		// Works like any other until then.
		res := make(chan message, 1)
		go func() {
			typ, p, err := c.Read(context.Background())
			res <- message{typ, p, err}
		}()
		peer.send(t, clientFrame("\x81\x02hi"))
		m := <-res
		require.NoError(t, m.err)
		assert.Equal(t, "hi", string(m.p))

		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, _, err := c.Read(ctx)
			done <- err
		}()
		synctest.Wait()
		cancel()
		assert.Error(t, <-done)
		assert.ErrorIs(t, c.Write(t.Context(), ws.MessageText, []byte("x")), net.ErrClosed)
		_, err := readRawFrame(peer.br)
		assert.ErrorIs(t, err, io.EOF)
	})
}

func TestCloseStatus(t *testing.T) {
	t.Parallel()
	ce := &ws.CloseError{Code: 4001, Reason: "why"}
	assert.Equal(t, ws.StatusCode(4001), ws.CloseStatus(ce))
	assert.Equal(t, ws.StatusCode(4001), ws.CloseStatus(fmt.Errorf("context: %w", ce)))
	assert.Zero(t, ws.CloseStatus(nil))
	assert.Zero(t, ws.CloseStatus(io.EOF))
	assert.Contains(t, ce.Error(), "4001")
	assert.Contains(t, ce.Error(), "why")
	assert.Equal(t, "text", ws.MessageText.String())
	assert.Equal(t, "binary", ws.MessageBinary.String())
	assert.Equal(t, "MessageType(9)", ws.MessageType(9).String())
}
