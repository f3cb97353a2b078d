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

func TestMemBrokerSince(t *testing.T) {
	t.Parallel()
	b := newMemBroker(4)
	ctx := t.Context()

	msgs, complete, err := b.Since(ctx, 0)
	require.NoError(t, err)
	assert.Empty(t, msgs)
	assert.True(t, complete, "nothing published, nothing missing")

	seq, err := b.Publish(ctx, []byte(`{"n":0}`))
	require.NoError(t, err)
	assert.Equal(t, uint64(1), seq, "numbering starts at 1")
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
			msgs, complete, err := b.Since(ctx, tc.after)
			require.NoError(t, err)
			assert.Equal(t, tc.wantSeqs, seqsOf(msgs))
			assert.Equal(t, tc.wantComplete, complete)
		})
	}
	msgs, _, _ = b.Since(ctx, 5)
	assert.Equal(t, `{"n":4}`, string(msgs[0].Data), "data is kept as published")
}

func TestMemBrokerSubscribe(t *testing.T) {
	t.Parallel()
	b := newMemBroker(8)
	publishN(t, b, 2)
	sub, last, err := b.Subscribe(t.Context())
	require.NoError(t, err)
	assert.Equal(t, uint64(2), last, "the subscription starts after the latest message")

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
	_, _, err = b.Since(ctx, 0)
	assert.ErrorIs(t, err, context.Canceled)
	_, _, err = b.Subscribe(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Panics(t, func() { newMemBroker(0) })
}
