package main

import (
	"context"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/internal/redis"
	"github.com/ab7c482b/websocket/internal/testpeer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestRedisBroker returns a broker for a room in the Redis at url,
// which reconnects quickly, and closes it when the test ends. configure,
// if not nil, may change the client's options.
func newTestRedisBroker(t testing.TB, url string, keep int, configure func(*redis.Options)) *redisBroker {
	t.Helper()
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	opts.MinBackoff, opts.MaxBackoff = 5*time.Millisecond, 100*time.Millisecond
	if configure != nil {
		configure(opts)
	}
	b := newRedisBroker(redis.NewClient(opts), "test", keep, testLogger(t))
	t.Cleanup(func() { b.Close() })
	return b
}

// redisAdmin returns a client for commands the tests send to srv
// themselves.
func redisAdmin(t *testing.T, srv *testpeer.Redis) *redis.Client {
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Socket, Name: "admin"})
	t.Cleanup(func() { c.Close() })
	return c
}

// do runs a command the test depends on.
func do(t *testing.T, c *redis.Client, args ...string) redis.Reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	r, err := c.Do(ctx, args...)
	require.NoError(t, err, "%v", args)
	return r
}

// subscribedBroker starts a Redis and returns a broker on it keeping
// keep messages, a client for the test's own commands, a subscription
// and its head.
func subscribedBroker(t *testing.T, keep int) (*redisBroker, *redis.Client, Subscription, Position) {
	t.Helper()
	srv := testpeer.StartRedis(t, nil)
	b := newTestRedisBroker(t, srv.URL(), keep, nil)
	sub, head, err := b.Subscribe(t.Context())
	require.NoError(t, err)
	return b, redisAdmin(t, srv), sub, head
}

// requireSeqs reads the messages from to to from sub.
func requireSeqs(t *testing.T, sub Subscription, from, to uint64) {
	t.Helper()
	for want := from; want <= to; want++ {
		m, err := nextMessage(t, sub)
		require.NoError(t, err)
		require.Equal(t, want, m.Seq, "in order, nothing missing")
	}
}

// nextMessage returns the subscription's next message, or its error.
func nextMessage(t *testing.T, sub Subscription) (Message, error) {
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	return sub.Next(ctx)
}

func TestRedisBrokerSince(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartRedis(t, nil)
	testBrokerSince(t, newTestRedisBroker(t, srv.URL(), 4, nil))
}

func TestRedisBrokerSubscribe(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartRedis(t, nil)
	testBrokerSubscribe(t, newTestRedisBroker(t, srv.URL(), 8, nil))
}

// TestRedisBrokerShared checks that brokers of one room, as separate
// processes would have, number messages in one sequence.
func TestRedisBrokerShared(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartRedis(t, nil)
	a := newTestRedisBroker(t, srv.URL(), 100, nil)
	b := newTestRedisBroker(t, srv.URL()+"?db=0", 100, nil)
	sub, _, err := b.Subscribe(t.Context())
	require.NoError(t, err)
	for i := range 6 {
		p, err := []Broker{a, b}[i%2].Publish(t.Context(), []byte(`{}`))
		require.NoError(t, err)
		assert.Equal(t, uint64(i+1), p.Seq)
	}
	requireSeqs(t, sub, 1, 6)
	other := newTestRedisBroker(t, srv.URL()+"?db=1", 100, nil)
	assert.NotEqual(t, headOf(t, a).Epoch, headOf(t, other).Epoch, "another database is another room")
}

// TestRedisBrokerGapFill drops a message from the channel, as a
// lost publish would: the subscriber takes it from the log, in order.
func TestRedisBrokerGapFill(t *testing.T) {
	t.Parallel()
	b, admin, sub, _ := subscribedBroker(t, 100)
	publishN(t, b, 1)
	// Seq 2 goes to the log but not to the channel.
	silent := redis.NewScript(epochLua + `
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[2], string.format('%d-0', seq), 'd', '{"n":"silent"}')
return seq`)
	ctx := t.Context()
	r, err := silent.Run(ctx, admin, b.keys, "unused")
	require.NoError(t, err)
	require.Equal(t, int64(2), r.Int)
	publishN(t, b, 1)
	requireSeqs(t, sub, 1, 1)
	m, err := nextMessage(t, sub)
	require.NoError(t, err)
	assert.Equal(t, Message{Seq: 2, Data: []byte(`{"n":"silent"}`)}, m, "from the log")
	requireSeqs(t, sub, 3, 3)
}

// TestRedisBrokerCatchUp kills the subscription's connection: the
// messages published meanwhile come from the log, in order; those the
// log no longer holds are reported as ErrLagged.
func TestRedisBrokerCatchUp(t *testing.T) {
	t.Parallel()
	b, admin, sub, _ := subscribedBroker(t, 4)
	publishN(t, b, 1)
	requireSeqs(t, sub, 1, 1)

	// Nothing reads the subscription until Next: it reconnects then.
	require.Equal(t, int64(1), do(t, admin, "CLIENT", "KILL", "TYPE", "pubsub").Int)
	publishN(t, b, 3) // 2…4, all held
	requireSeqs(t, sub, 2, 4)

	require.Equal(t, int64(1), do(t, admin, "CLIENT", "KILL", "TYPE", "pubsub").Int)
	publishN(t, b, 6) // 5…10; the log holds 7…10
	_, err := nextMessage(t, sub)
	require.ErrorIs(t, err, ErrLagged)
	requireSeqs(t, sub, 7, 10) // after ErrLagged, from the oldest held
}

// TestRedisBrokerReset loses Redis's data: the next script starts a new
// epoch, positions from before are stale, and the subscriber is told.
func TestRedisBrokerReset(t *testing.T) {
	t.Parallel()
	b, admin, sub, head := subscribedBroker(t, 100)
	old := head.Epoch
	require.Len(t, old, 16)
	publishN(t, b, 2)

	do(t, admin, "FLUSHALL")
	p, err := b.Publish(t.Context(), []byte(`{"n":"new"}`))
	require.NoError(t, err)
	assert.NotEqual(t, old, p.Epoch, "a new epoch")
	assert.Equal(t, uint64(1), p.Seq, "numbered from 1 again")

	_, _, err = b.Since(t.Context(), Position{old, 1})
	var reset *ResetError
	require.ErrorAs(t, err, &reset)
	assert.Equal(t, p.Epoch, reset.Head.Epoch)

	// The channel had 1 and 2 of the old epoch, then 1 of the new.
	requireSeqs(t, sub, 1, 2)
	_, err = nextMessage(t, sub)
	require.ErrorAs(t, err, &reset, "the subscriber learns of the reset")
	assert.Equal(t, Position{p.Epoch, 0}, reset.Head)
	m, err := nextMessage(t, sub)
	require.NoError(t, err)
	assert.Equal(t, Message{Seq: 1, Data: []byte(`{"n":"new"}`)}, m, "and goes on in the new epoch")
}

// TestRedisBrokerDown checks that a publish to a Redis that is gone
// fails promptly with an error that says so.
func TestRedisBrokerDown(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartRedis(t, nil)
	b := newTestRedisBroker(t, srv.URL(), 100, nil)
	publishN(t, b, 1)
	srv.Kill()
	ctx, cancel := context.WithTimeout(t.Context(), publishTimeout)
	defer cancel()
	_, err := b.Publish(ctx, []byte(`{}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "chat: publish: redis")
	assert.NoError(t, ctx.Err(), "it failed before the publish timeout")
}
