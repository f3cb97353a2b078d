package ws

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ab7c482b/websocket/frame"
)

// Close performs the closing handshake (RFC 6455 §7.1.2): it sends a close
// frame with code and reason (the reason is cut to fit 123 bytes), waits up
// to Config.CloseTimeout for the peer's close frame, and closes the
// transport. Close reads the peer's close frame itself when no goroutine
// is reading, but never takes a message: messages that arrive before the
// peer's close frame are left for Read, and if none reads them, Close
// waits for the timeout. Nothing the peer sent is dropped silently.
//
// Close returns nil when the handshake completed. It is safe to call from
// any goroutine, and more than once: later calls return an error that
// satisfies errors.Is(err, net.ErrClosed). Use StatusNoStatus to send a
// close frame without a code.
func (c *Conn) Close(code StatusCode, reason string) error {
	if code != StatusNoStatus && !code.Valid() {
		return fmt.Errorf("ws: close code %d may not be sent (RFC 6455 §7.4)", code)
	}
	var buf [frame.MaxControlPayload]byte
	p := frame.AppendClose(buf[:0], code, reason)
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.CloseTimeout)
	defer cancel()
	if err := c.writeFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpClose}, p); err != nil {
		if !errors.Is(err, errCloseSent) {
			c.CloseNow()
		}
		return err
	}
	select {
	case <-c.peerClosed:
	case c.readSem <- struct{}{}:
		if !c.awaitPeerClose(ctx) {
			<-c.readSem
			// A message comes first: the application's read loop will
			// take it, then the close frame.
			select {
			case <-c.peerClosed:
			case <-ctx.Done():
			}
			break
		}
		<-c.readSem
	case <-ctx.Done():
	}
	c.CloseNow()
	if c.peerCloseErr() == nil {
		return fmt.Errorf("ws: no close frame from the peer within %v; connection closed", c.cfg.CloseTimeout)
	}
	return nil
}

// awaitPeerClose reads control frames until the peer's close frame or
// ctx's end, and returns true. If a message comes first, it leaves the
// message for Read and returns false. The caller holds readSem.
func (c *Conn) awaitPeerClose(ctx context.Context) bool {
	if c.readErr != nil {
		return true
	}
	stop := c.watch(ctx, true)
	var err error
	for err == nil {
		var dataNext bool
		if dataNext, err = c.mr.SkipControl(); err == nil && dataNext {
			c.unwatch(stop, true)
			return false
		}
	}
	c.unwatch(stop, true)
	c.readFailed(context.Background(), err)
	return true
}

// control handles the control frames that arrive while reading.
func (c *Conn) control(h frame.Header, p []byte) error {
	switch h.Opcode {
	case frame.OpPing:
		if c.cfg.OnPing != nil {
			c.cfg.OnPing(p)
		}
		c.queuePong(p)
	case frame.OpPong:
		if c.cfg.OnPong != nil {
			c.cfg.OnPong(p)
		}
		c.gotPong(p)
	case frame.OpClose:
		code, reason, err := frame.ParseClose(p)
		if err != nil {
			return err
		}
		ce := &CloseError{Code: code, Reason: reason}
		// RFC 6455 §5.5.1: answer with a close frame, echoing the code,
		// unless ours is already out.
		echo := code
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.CloseTimeout)
		var buf [2]byte
		c.writeFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpClose}, frame.AppendClose(buf[:0], echo, ""))
		cancel()
		if c.client {
			// RFC 6455 §7.1.1: the server closes the TCP connection
			// first; a client waits for that before closing its end.
			c.drain(time.Now().Add(c.cfg.CloseTimeout))
		}
		c.closeMu.Lock()
		c.peerClose = ce
		c.closeMu.Unlock()
		close(c.peerClosed)
		c.CloseNow()
		return ce
	}
	return nil
}

func (c *Conn) peerCloseErr() *CloseError {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	return c.peerClose
}

// fail fails the connection after a protocol violation by the peer
// (RFC 6455 §7.1.7): it sends a close frame with code and closes.
func (c *Conn) fail(code StatusCode, reason string) {
	var buf [frame.MaxControlPayload]byte
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.CloseTimeout)
	err := c.writeFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpClose}, frame.AppendClose(buf[:0], code, reason))
	cancel()
	if err == nil {
		// Half-close and let the peer read the close frame before the
		// transport goes: closing with its data unread would send a TCP
		// reset, which can destroy the close frame in flight.
		if cw, ok := c.rwc.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			c.drain(time.Now().Add(c.cfg.CloseTimeout))
		}
	}
	c.CloseNow()
}

// drain reads and drops what the peer still sends, until it closes its
// end, the deadline passes or a bounded amount has arrived. The caller
// holds readSem.
func (c *Conn) drain(deadline time.Time) {
	if c.dl == nil {
		return
	}
	c.dl.SetReadDeadline(deadline)
	io.CopyN(io.Discard, c.br, 1<<20)
	c.dl.SetReadDeadline(time.Time{})
}

// gotPong wakes the Ping whose payload p echoes.
func (c *Conn) gotPong(p []byte) {
	if len(p) != 8 {
		return
	}
	id := binary.BigEndian.Uint64(p)
	c.pingMu.Lock()
	ch := c.pings[id]
	delete(c.pings, id)
	c.pingMu.Unlock()
	if ch != nil {
		close(ch)
	}
}
