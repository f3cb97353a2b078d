package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// publishN publishes messages "0" to "n-1", which get seqs from the
// broker's next one on.
func publishN(t *testing.T, b Broker, n int) {
	t.Helper()
	for i := range n {
		_, err := b.Publish(t.Context(), []byte(fmt.Sprintf(`{"n":%d}`, i)))
		require.NoError(t, err)
	}
}

func seqsOf(msgs []Message) []uint64 {
	var s []uint64
	for _, m := range msgs {
		s = append(s, m.Seq)
	}
	return s
}

// headOf returns the broker's latest position, from a subscription it
// ends at once.
func headOf(t *testing.T, b Broker) Position {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, head, err := b.Subscribe(ctx)
	require.NoError(t, err)
	return head
}

func TestMemBrokerSince(t *testing.T) {
	t.Parallel()
	testBrokerSince(t, newMemBroker(4))
}

// testBrokerSince checks Since on a new broker that keeps 4 messages.
func testBrokerSince(t *testing.T, b Broker) {
	ctx := t.Context()
	epoch := headOf(t, b).Epoch
	require.NotEmpty(t, epoch)

	msgs, complete, err := b.Since(ctx, Position{epoch, 0})
	require.NoError(t, err)
	assert.Empty(t, msgs)
	assert.True(t, complete, "nothing published, nothing missing")

	pos, err := b.Publish(ctx, []byte(`{"n":0}`))
	require.NoError(t, err)
	assert.Equal(t, Position{epoch, 1}, pos, "numbering starts at 1, in the epoch there was")
	publishN(t, b, 5) // seqs 2…6; the broker holds 3…6

	tests := []struct {
		after        uint64
		wantSeqs     []uint64
		wantComplete bool
	}{
		{0, []uint64{3, 4, 5, 6}, false},
		{1, []uint64{3, 4, 5, 6}, false},
		{2, []uint64{3, 4, 5, 6}, true},
		{4, []uint64{5, 6}, true},
		{5, []uint64{6}, true},
		{6, nil, true},
		{100, nil, true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint("after ", tc.after), func(t *testing.T) {
			msgs, complete, err := b.Since(ctx, Position{epoch, tc.after})
			require.NoError(t, err)
			assert.Equal(t, tc.wantSeqs, seqsOf(msgs))
			assert.Equal(t, tc.wantComplete, complete)
		})
	}
	msgs, _, _ = b.Since(ctx, Position{epoch, 5})
	assert.Equal(t, `{"n":4}`, string(msgs[0].Data), "data is kept as published")

	_, _, err = b.Since(ctx, Position{"another", 5})
	var reset *ResetError
	require.ErrorAs(t, err, &reset, "a position from another epoch is stale")
	assert.Equal(t, epoch, reset.Head.Epoch)
}

func TestMemBrokerSubscribe(t *testing.T) {
	t.Parallel()
	testBrokerSubscribe(t, newMemBroker(8))
}

// testBrokerSubscribe checks a subscription on a new broker that keeps
// 8 messages.
func testBrokerSubscribe(t *testing.T, b Broker) {
	publishN(t, b, 2)
	sub, last, err := b.Subscribe(t.Context())
	require.NoError(t, err)
	assert.Equal(t, uint64(2), last.Seq, "the subscription starts after the latest message")

	// Next waits for a message published after it started waiting.
	got := make(chan Message, 1)
	errc := make(chan error, 1)
	go func() {
		m, err := sub.Next(t.Context())
		errc <- err
		got <- m
	}()
	publishN(t, b, 3)
	require.NoError(t, <-errc)
	assert.Equal(t, uint64(3), (<-got).Seq)
	for _, want := range []uint64{4, 5} {
		m, err := sub.Next(t.Context())
		require.NoError(t, err)
		assert.Equal(t, want, m.Seq)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = sub.Next(ctx)
	assert.ErrorIs(t, err, context.Canceled, "nothing more to read: Next waits for ctx")
}

func TestMemBrokerLagged(t *testing.T) {
	t.Parallel()
	b := newMemBroker(3)
	sub, _, err := b.Subscribe(t.Context())
	require.NoError(t, err)
	publishN(t, b, 5) // holds 3…5; the subscriber wants 1
	_, err = sub.Next(t.Context())
	assert.ErrorIs(t, err, ErrLagged)
	for _, want := range []uint64{3, 4, 5} {
		m, err := sub.Next(t.Context())
		require.NoError(t, err)
		assert.Equal(t, want, m.Seq, "after ErrLagged, Next goes on from the oldest held")
	}
}

func TestMemBrokerContext(t *testing.T) {
	t.Parallel()
	b := newMemBroker(3)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := b.Publish(ctx, []byte(`{}`))
	assert.ErrorIs(t, err, context.Canceled)
	_, _, err = b.Since(ctx, Position{b.epoch, 0})
	assert.ErrorIs(t, err, context.Canceled)
	_, _, err = b.Subscribe(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Panics(t, func() { newMemBroker(0) })
}
