package redis_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/internal/redis"
	"github.com/ab7c482b/websocket/internal/testpeer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitTimeout bounds every wait; nothing should come near.
const waitTimeout = 10 * time.Second

func newClient(t *testing.T, url string, configure func(*redis.Options)) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	if configure != nil {
		configure(opts)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

func TestClientCommands(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartRedis(t, nil)
	c := newClient(t, srv.URL(), nil)
	ctx := ctx(t)

	r, err := c.Do(ctx, "SET", "k", "a\r\nb")
	require.NoError(t, err)
	assert.Equal(t, redis.Reply{Kind: redis.KindString, Str: "OK"}, r)
	r, err = c.Do(ctx, "GET", "k")
	require.NoError(t, err)
	assert.Equal(t, redis.Reply{Kind: redis.KindBulk, Str: "a\r\nb"}, r, "binary-safe")
	r, err = c.Do(ctx, "GET", "missing")
	require.NoError(t, err)
	assert.Equal(t, redis.KindNull, r.Kind)
	r, err = c.Do(ctx, "INCR", "n")
	require.NoError(t, err)
	assert.Equal(t, int64(1), r.Int)

	_, err = c.Do(ctx, "INCR", "k")
	var e redis.Error
	require.ErrorAs(t, err, &e, "an error reply")
	assert.Equal(t, "ERR", e.Code())
	r, err = c.Do(ctx, "PING")
	require.NoError(t, err, "an error reply leaves the connection usable")
	assert.Equal(t, "PONG", r.Str)

	// The URL's database is selected on every connection.
	db3 := newClient(t, srv.URL()+"?db=3", func(o *redis.Options) { o.Name = "db3" })
	_, err = db3.Do(ctx, "SET", "k", "three")
	require.NoError(t, err)
	r, err = c.Do(ctx, "GET", "k")
	require.NoError(t, err)
	assert.Equal(t, "a\r\nb", r.Str, "db 0 is untouched")
	r, err = db3.Do(ctx, "CLIENT", "GETNAME")
	require.NoError(t, err)
	assert.Equal(t, "db3", r.Str)

	require.NoError(t, c.Close())
	_, err = c.Do(ctx, "PING")
	assert.ErrorIs(t, err, net.ErrClosed)
}

func TestClientPassword(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartRedis(t, &testpeer.RedisOptions{TCP: true, Password: "s3cret"})
	ctx := ctx(t)
	good := newClient(t, "redis://:s3cret@"+srv.Addr+"/1", nil)
	r, err := good.Do(ctx, "PING")
	require.NoError(t, err)
	assert.Equal(t, "PONG", r.Str)

	bad := newClient(t, "redis://:wrong@"+srv.Addr, nil)
	_, err = bad.Do(ctx, "PING")
	var e redis.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "WRONGPASS", e.Code())

	none := newClient(t, "redis://"+srv.Addr, nil)
	_, err = none.Do(ctx, "PING")
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "NOAUTH", e.Code())
}

func TestClientServerRestart(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartRedis(t, nil)
	c := newClient(t, srv.URL(), func(o *redis.Options) { o.MinBackoff, o.MaxBackoff = time.Hour, time.Hour })
	ctx := ctx(t)
	_, err := c.Do(ctx, "SET", "k", "v")
	require.NoError(t, err) // one idle connection now

	srv.Kill()
	_, err = c.Do(ctx, "PING")
	require.Error(t, err, "the server is gone")
	assert.NotErrorIs(t, err, redis.ErrUnavailable, "the first failure is the dial's")
	_, err = c.Do(ctx, "PING")
	require.ErrorIs(t, err, redis.ErrUnavailable, "then it fails at once during the backoff")
	assert.Contains(t, err.Error(), "next try in")

	srv.Start()
	c2 := newClient(t, srv.URL(), nil)
	_, err = c2.Do(ctx, "SET", "k", "v")
	require.NoError(t, err)
	r, err := c2.Do(ctx, "GET", "k")
	require.NoError(t, err)
	assert.Equal(t, "v", r.Str)
}

func TestClientStaleIdleConn(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartRedis(t, nil)
	c := newClient(t, srv.URL(), func(o *redis.Options) { o.Name = "victim" })
	admin := newClient(t, srv.URL(), nil)
	ctx := ctx(t)
	_, err := c.Do(ctx, "PING")
	require.NoError(t, err)
	// The server closes the idle connection; the next command must not
	// fail on it.
	r, err := admin.Do(ctx, "CLIENT", "KILL", "USER", "default", "SKIPME", "yes")
	require.NoError(t, err)
	require.Equal(t, int64(1), r.Int)
	r, err = c.Do(ctx, "PING")
	require.NoError(t, err, "a closed idle connection is noticed before use")
	assert.Equal(t, "PONG", r.Str)
}

func TestClientTimeout(t *testing.T) {
	t.Parallel()
	// A server that accepts and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range accepted {
			c.Close()
		}
	})
	c := newClient(t, "redis://"+ln.Addr().String(), func(o *redis.Options) { o.Timeout = 50 * time.Millisecond })
	start := time.Now()
	_, err = c.Do(t.Context(), "PING")
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "Options.Timeout bounds the wait for a reply")
	assert.Less(t, time.Since(start), waitTimeout/2)

	slow := newClient(t, "redis://"+ln.Addr().String(), nil)
	cctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := slow.Do(cctx, "PING")
		errc <- err
	}()
	cancel()
	assert.ErrorIs(t, <-errc, context.Canceled, "a cancelled context ends the wait")
}

func TestScript(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartRedis(t, nil)
	c := newClient(t, srv.URL(), nil)
	ctx := ctx(t)
	s := redis.NewScript(`return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}`)
	want := func(n int64) redis.Reply {
		return redis.Reply{Kind: redis.KindArray, Elems: []redis.Reply{
			{Kind: redis.KindBulk, Str: "n"}, {Kind: redis.KindBulk, Str: "x"}, {Kind: redis.KindInt, Int: n},
		}}
	}
	r, err := s.Run(ctx, c, []string{"n"}, "x")
	require.NoError(t, err, "EVAL when the server lacks the script")
	assert.Equal(t, want(1), r)
	r, err = s.Run(ctx, c, []string{"n"}, "x")
	require.NoError(t, err, "EVALSHA")
	assert.Equal(t, want(2), r)
	_, err = c.Do(ctx, "SCRIPT", "FLUSH")
	require.NoError(t, err)
	r, err = s.Run(ctx, c, []string{"n"}, "x")
	require.NoError(t, err, "EVAL again after the cache is flushed")
	assert.Equal(t, want(3), r)

	_, err = redis.NewScript(`return redis.call('NOPE')`).Run(ctx, c, nil)
	var e redis.Error
	require.ErrorAs(t, err, &e)
	assert.Contains(t, string(e), "Unknown Redis command")
}

func TestPubSub(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartRedis(t, nil)
	c := newClient(t, srv.URL(), func(o *redis.Options) { o.MinBackoff = time.Millisecond })
	ctx := ctx(t)
	sub := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Socket, Name: "sub", MinBackoff: time.Millisecond})
	t.Cleanup(func() { sub.Close() })
	ps := sub.Subscribe("a", "b")
	t.Cleanup(func() { ps.Close() })

	subscribed := func() {
		t.Helper()
		for _, ch := range []string{"a", "b"} {
			ev, err := ps.Receive(ctx)
			require.NoError(t, err)
			assert.Equal(t, redis.Event{Kind: "subscribe", Channel: ch}, ev)
		}
	}
	subscribed()
	_, err := c.Do(ctx, "PUBLISH", "b", "one")
	require.NoError(t, err)
	_, err = c.Do(ctx, "PUBLISH", "a", "two\r\n")
	require.NoError(t, err)
	for _, want := range []redis.Event{{"message", "b", "one"}, {"message", "a", "two\r\n"}} {
		ev, err := ps.Receive(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, ev)
	}

	// The server drops the subscriber: Receive says so once, then
	// subscribes again.
	r, err := c.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub")
	require.NoError(t, err)
	require.Equal(t, int64(1), r.Int)
	_, err = ps.Receive(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "subscription lost")
	subscribed()
	_, err = c.Do(ctx, "PUBLISH", "a", "three")
	require.NoError(t, err)
	ev, err := ps.Receive(ctx)
	require.NoError(t, err)
	assert.Equal(t, redis.Event{Kind: "message", Channel: "a", Payload: "three"}, ev)

	// Close ends a Receive in progress.
	errc := make(chan error, 1)
	go func() {
		_, err := ps.Receive(ctx)
		errc <- err
	}()
	// Close may come before that Receive blocks or while it does; it
	// ends it either way.
	require.NoError(t, ps.Close())
	err = <-errc
	assert.True(t, errors.Is(err, net.ErrClosed), "got %v", err)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = sub.Subscribe("c").Receive(cctx)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestPubSubReconnect(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartRedis(t, nil)
	sub := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Socket, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	t.Cleanup(func() { sub.Close() })
	ps := sub.Subscribe("a")
	t.Cleanup(func() { ps.Close() })
	ctx := ctx(t)
	ev, err := ps.Receive(ctx)
	require.NoError(t, err)
	require.Equal(t, "subscribe", ev.Kind)

	srv.Stop()
	_, err = ps.Receive(ctx)
	require.Error(t, err, "the server went away")
	// While the server is down, each Receive fails after its backoff.
	_, err = ps.Receive(ctx)
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "subscribe on unix"), err.Error())

	srv.Start()
	for {
		ev, err = ps.Receive(ctx)
		if err == nil {
			break
		}
		require.NoError(t, ctx.Err(), "no subscription after the restart: %v", err)
	}
	assert.Equal(t, "subscribe", ev.Kind, "back, and the caller knows to catch up")
}
