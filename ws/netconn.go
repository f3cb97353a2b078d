package ws

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// NetConn returns a net.Conn over c for protocols that want a byte stream:
// Read returns the payloads of incoming messages one after another as if
// they were one stream, and each Write sends one message of type typ. Read
// returns io.EOF once the peer closes normally (StatusNormalClosure or
// StatusGoingAway). Close performs the closing handshake with
// StatusNormalClosure. ctx bounds every call, besides the deadlines.
//
// The returned net.Conn is safe for concurrent use as a net.Conn is: one
// goroutine may read while others write. Do not read c directly while it
// is in use.
func (c *Conn) NetConn(ctx context.Context, typ MessageType) net.Conn {
	return &netConn{c: c, ctx: ctx, typ: typ}
}

type netConn struct {
	c   *Conn
	ctx context.Context
	typ MessageType

	mu            sync.Mutex
	readDeadline  time.Time
	writeDeadline time.Time

	inMsg bool // a message is open; owned by the reading goroutine
}

func (nc *netConn) Read(p []byte) (int, error) {
	ctx, cancel, err := nc.context(true)
	if err != nil {
		return 0, err
	}
	defer cancel()
	c := nc.c
	if err := c.beginRead(ctx); err != nil {
		return 0, streamErr(err)
	}
	defer func() { <-c.readSem }()
	stop := c.watch(ctx, true)
	n, err := nc.read(p)
	c.unwatch(stop, true)
	if err != nil {
		err = streamErr(c.readFailed(ctx, err))
	}
	return n, err
}

func (nc *netConn) read(p []byte) (int, error) {
	for {
		if !nc.inMsg {
			if _, err := nc.c.next(); err != nil {
				return 0, err
			}
			nc.inMsg = true
		}
		n, err := nc.c.readPayload(p)
		if err == io.EOF {
			nc.inMsg = false
			if n > 0 || len(p) == 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (nc *netConn) Write(p []byte) (int, error) {
	ctx, cancel, err := nc.context(false)
	if err != nil {
		return 0, err
	}
	defer cancel()
	if err := nc.c.Write(ctx, nc.typ, p); err != nil {
		return 0, streamErr(err)
	}
	return len(p), nil
}

func (nc *netConn) Close() error { return nc.c.Close(StatusNormalClosure, "") }

func (nc *netConn) LocalAddr() net.Addr {
	if conn, ok := nc.c.rwc.(net.Conn); ok {
		return conn.LocalAddr()
	}
	return streamAddr{}
}

func (nc *netConn) RemoteAddr() net.Addr {
	if conn, ok := nc.c.rwc.(net.Conn); ok {
		return conn.RemoteAddr()
	}
	return streamAddr{}
}

func (nc *netConn) SetDeadline(t time.Time) error {
	nc.mu.Lock()
	nc.readDeadline, nc.writeDeadline = t, t
	nc.mu.Unlock()
	return nil
}

func (nc *netConn) SetReadDeadline(t time.Time) error {
	nc.mu.Lock()
	nc.readDeadline = t
	nc.mu.Unlock()
	return nil
}

func (nc *netConn) SetWriteDeadline(t time.Time) error {
	nc.mu.Lock()
	nc.writeDeadline = t
	nc.mu.Unlock()
	return nil
}

// context returns the context for one call, bounded by its deadline.
func (nc *netConn) context(read bool) (context.Context, context.CancelFunc, error) {
	nc.mu.Lock()
	d := nc.writeDeadline
	if read {
		d = nc.readDeadline
	}
	nc.mu.Unlock()
	if d.IsZero() {
		return nc.ctx, func() {}, nil
	}
	if !time.Now().Before(d) {
		return nil, nil, os.ErrDeadlineExceeded
	}
	ctx, cancel := context.WithDeadline(nc.ctx, d)
	return ctx, cancel, nil
}

// streamErr maps errors to what users of a net.Conn expect.
func streamErr(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return os.ErrDeadlineExceeded
	case CloseStatus(err) == StatusNormalClosure, CloseStatus(err) == StatusGoingAway:
		return io.EOF
	}
	return err
}

type streamAddr struct{}

func (streamAddr) Network() string { return "websocket" }
func (streamAddr) String() string  { return "websocket" }
