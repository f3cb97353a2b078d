package ws

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/ab7c482b/websocket/frame"
)

// ErrPongTimeout is why keepalive closed a connection: no pong came back
// within Config.PongTimeout.
var ErrPongTimeout = errors.New("ws: keepalive: no pong within the pong timeout")

// Ping sends a ping and waits for the matching pong, then records the
// round-trip time (see RTT). Pongs are seen by the goroutine reading the
// connection, so Ping needs one. If ctx ends first, Ping returns ctx.Err()
// and the connection stays usable.
func (c *Conn) Ping(ctx context.Context) error {
	ch := make(chan struct{})
	c.pingMu.Lock()
	c.pingSeq++
	id := c.pingSeq
	if c.pings == nil {
		c.pings = make(map[uint64]chan<- struct{})
	}
	c.pings[id] = ch
	c.pingMu.Unlock()
	defer func() {
		c.pingMu.Lock()
		delete(c.pings, id)
		c.pingMu.Unlock()
	}()
	p := binary.BigEndian.AppendUint64(make([]byte, 0, 8), id)
	start := time.Now()
	if err := c.writeFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpPing}, p); err != nil {
		return err
	}
	select {
	case <-ch:
		c.rtt.Store(int64(time.Since(start)))
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closed:
		return errClosed
	}
}

// RTT returns the round-trip time measured by the latest Ping or keepalive
// ping that was answered, or 0 if none was.
func (c *Conn) RTT() time.Duration { return time.Duration(c.rtt.Load()) }

// keepalive pings the peer every PingInterval and closes the connection
// when a pong does not come back within PongTimeout.
type keepalive struct {
	mu      sync.Mutex
	t       *time.Timer
	stopped bool
}

func (c *Conn) startKeepalive() {
	c.ka = &keepalive{}
	c.ka.t = time.AfterFunc(c.cfg.PingInterval, c.keepaliveTick)
}

func (c *Conn) keepaliveTick() {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.PongTimeout)
	err := c.Ping(ctx)
	cancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			cause := ErrPongTimeout
			c.cause.CompareAndSwap(nil, &cause)
		}
		c.CloseNow()
		return
	}
	c.ka.mu.Lock()
	if !c.ka.stopped {
		c.ka.t.Reset(c.cfg.PingInterval)
	}
	c.ka.mu.Unlock()
}

func (c *Conn) stopKeepalive() {
	if c.ka == nil {
		return
	}
	c.ka.mu.Lock()
	c.ka.stopped = true
	c.ka.t.Stop()
	c.ka.mu.Unlock()
}
