// Package wirecount counts the bytes that cross network connections, so
// that a test can tell whether permessage-deflate (RFC 7692) really
// shrank what went over the wire, not only whether the handshake agreed
// to it.
//
// A client wraps the connections it dials with [Dialer]; a server built
// with [NewServer] wraps the ones it accepts, and a handler finds its own
// with [FromRequest]. Counts include everything: the HTTP handshake, frame
// headers, masks and control frames.
package wirecount

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
)

// Conn is a net.Conn that counts the bytes read from and written to it.
type Conn struct {
	net.Conn
	in, out atomic.Int64
}

func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

func (c *Conn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

// In returns the bytes read so far.
func (c *Conn) In() int64 { return c.in.Load() }

// Out returns the bytes written so far.
func (c *Conn) Out() int64 { return c.out.Load() }

// Dialer returns a dial function, as ws.DialOptions.NetDialContext takes,
// that dials TCP, wraps the connection and passes it to got before
// returning it.
func Dialer(got func(*Conn)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := &Conn{Conn: nc}
		got(c)
		return c, nil
	}
}

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: nc}, nil
}

type connKey struct{}

// NewServer starts an httptest server on loopback whose connections are
// counted; a handler finds the one it runs on with FromRequest, and it
// stays the same Conn after a WebSocket handshake hijacks it.
func NewServer(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = listener{srv.Listener}
	srv.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if wc, ok := c.(*Conn); ok {
			ctx = context.WithValue(ctx, connKey{}, wc)
		}
		return ctx
	}
	srv.Start()
	return srv
}

// FromRequest returns the counted connection that r came on, or nil if r
// did not come through a server from NewServer.
func FromRequest(r *http.Request) *Conn {
	c, _ := r.Context().Value(connKey{}).(*Conn)
	return c
}
