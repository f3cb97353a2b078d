package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ErrUnavailable reports that the server could not be reached lately,
// and the client is waiting out its backoff before it dials again.
var ErrUnavailable = errors.New("redis: server unavailable")

// A Client sends commands over a pool of connections. It is safe for
// concurrent use.
type Client struct {
	opts Options

	mu      sync.Mutex
	idle    []*conn
	closed  bool
	backoff backoff   // under mu
	retryAt time.Time // under mu: no dialling before this
	lastErr error     // under mu: why the last dial failed
}

// NewClient returns a client for the server opts names. It does not
// connect until the first command. opts is copied.
func NewClient(opts *Options) *Client {
	c := &Client{opts: *opts}
	c.opts.setDefaults()
	c.backoff = backoff{min: c.opts.MinBackoff, max: c.opts.MaxBackoff}
	return c
}

// Options returns the client's options, with defaults filled in.
func (c *Client) Options() Options { return c.opts }

// Do sends a command and returns its reply. An error reply is returned
// as an [Error]. If ctx ends first, the connection is closed and Do
// returns ctx.Err(); the command may or may not have run.
func (c *Client) Do(ctx context.Context, args ...string) (Reply, error) {
	if len(args) == 0 {
		panic("redis: Do without a command")
	}
	cn, err := c.get(ctx)
	if err != nil {
		return Reply{}, err
	}
	r, err := cn.roundTrip(ctx, c.opts.Timeout, args)
	if err != nil {
		cn.nc.Close()
		return Reply{}, fmt.Errorf("redis: %s: %w", args[0], err)
	}
	c.put(cn)
	if r.Kind == KindError {
		return Reply{}, Error(r.Str)
	}
	return r, nil
}

// get returns an idle connection that is still open, or a new one.
func (c *Client) get(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	for len(c.idle) > 0 {
		cn := c.idle[len(c.idle)-1]
		c.idle = c.idle[:len(c.idle)-1]
		if cn.alive() {
			c.mu.Unlock()
			return cn, nil
		}
		cn.nc.Close()
	}
	if c.closed {
		c.mu.Unlock()
		return nil, fmt.Errorf("redis: %w", net.ErrClosed)
	}
	c.mu.Unlock()
	return c.dial(ctx)
}

// dial connects, unless a recent failure's backoff has not passed yet.
func (c *Client) dial(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	if wait := time.Until(c.retryAt); wait > 0 {
		err := c.lastErr
		c.mu.Unlock()
		return nil, fmt.Errorf("%w (%s %s; next try in %v): %w",
			ErrUnavailable, c.opts.Network, c.opts.Addr, wait.Round(time.Millisecond), err)
	}
	c.mu.Unlock()
	cn, err := dial(ctx, &c.opts)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			c.lastErr = err
			c.retryAt = time.Now().Add(c.backoff.next())
		}
		return nil, fmt.Errorf("redis: connect to %s %s: %w", c.opts.Network, c.opts.Addr, err)
	}
	c.backoff.reset()
	c.retryAt = time.Time{}
	return cn, nil
}

// put returns a connection to the pool, or closes it if the pool is full
// or closed.
func (c *Client) put(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || len(c.idle) >= c.opts.IdleConns {
		cn.nc.Close()
		return
	}
	c.idle = append(c.idle, cn)
}

// Close closes the idle connections; those in use close when their
// command ends. Commands after Close fail with an error wrapping
// net.ErrClosed. Subscriptions are closed by their own Close.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, cn := range c.idle {
		cn.nc.Close()
	}
	c.idle = nil
	return nil
}
