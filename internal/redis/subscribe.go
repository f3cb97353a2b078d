package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// healthCheck is how long a subscription may be silent before it pings
// the server, so that a connection the network lost without a word is
// noticed within healthCheck plus Options.Timeout.
const healthCheck = 15 * time.Second

// An Event is what a subscription receives: a "message" published to
// Channel, or the "subscribe" confirmation that begins every
// subscription, first and after each reconnect.
type Event struct {
	Kind    string
	Channel string
	Payload string
}

// A PubSub is a subscription to channels on a connection of its own.
// Receive is not safe for concurrent use; Close may be called at any
// time, from any goroutine.
type PubSub struct {
	c        *Client
	channels []string
	backoff  backoff
	failed   bool // the last connection failed: back off before the next
	pinged   bool // a PING is out, and the connection is on notice

	mu     sync.Mutex
	cn     *conn // nil between connections
	closed bool
}

// Subscribe returns a subscription to channels. It connects on the
// first Receive.
func (c *Client) Subscribe(channels ...string) *PubSub {
	return &PubSub{
		c:        c,
		channels: channels,
		backoff:  backoff{min: c.opts.MinBackoff, max: c.opts.MaxBackoff},
	}
}

// Receive returns the next event. When the connection is lost, Receive
// returns the error; the next call waits out a backoff, reconnects, and
// subscribes again, and its events begin with "subscribe" again. After
// Close, or when ctx ends, Receive returns an error wrapping
// net.ErrClosed or ctx.Err().
func (p *PubSub) Receive(ctx context.Context) (Event, error) {
	for {
		cn, err := p.connect(ctx)
		if err != nil {
			return Event{}, err
		}
		r, err := p.read(ctx, cn)
		if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil && !p.pinged {
			// Silent for healthCheck: ask, and wait Timeout for the
			// answer.
			p.pinged = true
			cn.nc.SetWriteDeadline(time.Now().Add(p.c.opts.Timeout))
			if err = cn.write([]string{"PING"}); err == nil {
				continue
			}
		}
		if err != nil {
			p.drop(cn, ctx.Err() == nil)
			if ctx.Err() != nil {
				return Event{}, ctx.Err()
			}
			if p.isClosed() {
				return Event{}, fmt.Errorf("redis: subscription: %w", net.ErrClosed)
			}
			return Event{}, fmt.Errorf("redis: subscription lost: %w", err)
		}
		p.pinged = false
		ev, ok := event(r)
		if !ok {
			p.drop(cn, true)
			return Event{}, protocolError("unexpected reply on a subscription: %v", r)
		}
		switch ev.Kind {
		case "pong":
			continue
		case "subscribe":
			p.backoff.reset()
			p.failed = false
		}
		return ev, nil
	}
}

// connect returns the current connection, or dials a new one and
// subscribes on it, after the backoff if the last one failed.
func (p *PubSub) connect(ctx context.Context) (*conn, error) {
	p.mu.Lock()
	cn, closed := p.cn, p.closed
	p.mu.Unlock()
	switch {
	case closed:
		return nil, fmt.Errorf("redis: subscription: %w", net.ErrClosed)
	case cn != nil:
		return cn, nil
	}
	if p.failed {
		t := time.NewTimer(p.backoff.next())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	cn, err := dial(ctx, &p.c.opts)
	if err == nil {
		cn.nc.SetWriteDeadline(time.Now().Add(p.c.opts.Timeout))
		err = cn.write(append([]string{"SUBSCRIBE"}, p.channels...))
		if err != nil {
			cn.nc.Close()
		}
	}
	if err != nil {
		p.failed = ctx.Err() == nil
		return nil, fmt.Errorf("redis: subscribe on %s %s: %w", p.c.opts.Network, p.c.opts.Addr, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		cn.nc.Close()
		return nil, fmt.Errorf("redis: subscription: %w", net.ErrClosed)
	}
	p.cn, p.pinged = cn, false
	return cn, nil
}

// read reads one reply. It waits up to healthCheck (Timeout once a PING
// is out) for the reply to begin, and Timeout for the rest of it, so a
// deadline never cuts a reply in two unnoticed.
func (p *PubSub) read(ctx context.Context, cn *conn) (Reply, error) {
	wait := healthCheck
	if p.pinged {
		wait = p.c.opts.Timeout
	}
	stop := cn.bound(ctx, wait)
	defer stop()
	if _, err := cn.br.Peek(1); err != nil {
		return Reply{}, err
	}
	cn.nc.SetReadDeadline(time.Now().Add(p.c.opts.Timeout))
	r, err := ReadReply(cn.br)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// Cut in two: the connection is out of step.
		err = fmt.Errorf("reply cut short: %w", io.ErrUnexpectedEOF)
	}
	return r, err
}

// event decodes a push: ["message", channel, payload], ["subscribe",
// channel, count] or ["pong", ""].
func event(r Reply) (Event, bool) {
	if r.Kind != KindArray || len(r.Elems) < 2 {
		return Event{}, false
	}
	kind, err := r.Elems[0].Text()
	if err != nil {
		return Event{}, false
	}
	ch, _ := r.Elems[1].Text()
	ev := Event{Kind: kind, Channel: ch}
	switch kind {
	case "message":
		if len(r.Elems) != 3 {
			return Event{}, false
		}
		ev.Payload, err = r.Elems[2].Text()
		return ev, err == nil
	case "subscribe", "pong":
		return ev, true
	}
	return Event{}, false
}

// Drop closes the current connection, as if it were lost: the next
// Receive reconnects after the backoff and subscribes again. A caller
// uses it when it cannot act on what it received (it could not catch
// up, say), to start over from a fresh "subscribe".
func (p *PubSub) Drop() {
	p.mu.Lock()
	cn := p.cn
	p.mu.Unlock()
	if cn != nil {
		p.drop(cn, true)
	}
}

func (p *PubSub) drop(cn *conn, failed bool) {
	p.mu.Lock()
	if p.cn == cn {
		p.cn = nil
	}
	p.mu.Unlock()
	cn.nc.Close()
	p.failed = p.failed || failed
}

func (p *PubSub) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// Close ends the subscription and closes its connection.
func (p *PubSub) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.cn != nil {
		p.cn.nc.Close()
		p.cn = nil
	}
	return nil
}
