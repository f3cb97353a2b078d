package main

import (
	"context"
	"errors"
	"sync"
)

// A Message is one event the room accepted, at its place in the room's
// order. Data is a JSON object without its "seq" field; it is shared by
// every reader and must not be modified.
type Message struct {
	Seq  uint64
	Data []byte
}

// A Broker gives the room's messages their order and keeps the recent
// ones. The room publishes through it and reads every message back from
// one subscription, so all the room's clients see the broker's order. The
// in-memory broker serves one process; a networked one (Redis streams,
// say) would let several processes share a room behind this interface.
//
// A Broker is safe for concurrent use.
type Broker interface {
	// Publish appends data, a JSON object, to the room's log and returns
	// its sequence number: one more than the previous message's, starting
	// at 1.
	Publish(ctx context.Context, data []byte) (uint64, error)
	// Subscribe returns a subscription to every message published after
	// the call, and the sequence number of the latest message before it
	// (0 if none).
	Subscribe(ctx context.Context) (Subscription, uint64, error)
	// Since returns the messages held with sequence numbers above after,
	// oldest first. complete is false when some of the messages after
	// after are no longer held, so the first one returned is not after+1.
	Since(ctx context.Context, after uint64) (msgs []Message, complete bool, err error)
}

// A Subscription reads a broker's messages in sequence order. It is not
// safe for concurrent use.
type Subscription interface {
	// Next waits for the next message. If the subscriber fell so far
	// behind that the next message is no longer held, Next returns
	// ErrLagged and continues from the oldest message held.
	Next(ctx context.Context) (Message, error)
}

// ErrLagged reports a subscriber that fell behind the broker's retention.
var ErrLagged = errors.New("chat: subscriber fell behind the broker's history")

// memBroker is a Broker in memory: a ring of the latest messages.
type memBroker struct {
	mu   sync.Mutex
	ring []Message // ring[seq % len(ring)] holds seq, for the held seqs
	held int       // how many of the latest seqs the ring holds
	last uint64
	wake chan struct{} // closed and replaced by each Publish
}

// newMemBroker returns a broker that keeps the latest keep messages; keep
// must be positive.
func newMemBroker(keep int) *memBroker {
	if keep <= 0 {
		panic("chat: newMemBroker needs a positive size")
	}
	return &memBroker{ring: make([]Message, keep), wake: make(chan struct{})}
}

func (b *memBroker) Publish(ctx context.Context, data []byte) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last++
	b.ring[b.last%uint64(len(b.ring))] = Message{Seq: b.last, Data: data}
	b.held = min(b.held+1, len(b.ring))
	close(b.wake)
	b.wake = make(chan struct{})
	return b.last, nil
}

func (b *memBroker) Subscribe(ctx context.Context) (Subscription, uint64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return &memSubscription{b: b, pos: b.last}, b.last, nil
}

func (b *memBroker) Since(ctx context.Context, after uint64) ([]Message, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if after >= b.last {
		return nil, true, nil
	}
	oldest := b.oldest()
	complete := after+1 >= oldest
	first := max(after+1, oldest)
	msgs := make([]Message, 0, b.last-first+1)
	for seq := first; seq <= b.last; seq++ {
		msgs = append(msgs, b.ring[seq%uint64(len(b.ring))])
	}
	return msgs, complete, nil
}

// oldest returns the sequence number of the oldest message held, or
// last+1 when none is. The caller holds mu.
func (b *memBroker) oldest() uint64 { return b.last - uint64(b.held) + 1 }

type memSubscription struct {
	b   *memBroker
	pos uint64 // the last seq returned
}

func (s *memSubscription) Next(ctx context.Context) (Message, error) {
	b := s.b
	for {
		b.mu.Lock()
		if s.pos < b.last {
			if oldest := b.oldest(); s.pos+1 < oldest {
				s.pos = oldest - 1
				b.mu.Unlock()
				return Message{}, ErrLagged
			}
			s.pos++
			m := b.ring[s.pos%uint64(len(b.ring))]
			b.mu.Unlock()
			return m, nil
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}
