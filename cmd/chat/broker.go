package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
)

// A Position is a place in a room's log: the sequence number of a
// message, within the epoch of the log that numbered it. A broker that
// loses its log (Redis restarted without its data, a process restarted
// with an in-memory one) starts a new epoch and numbers from 1 again, so
// a position from before says which log it belongs to.
type Position struct {
	Epoch string
	Seq   uint64
}

// A Message is one event the room accepted, at its place in the room's
// order. Data is a JSON object without its "seq" field; it is shared by
// every reader and must not be modified.
type Message struct {
	Seq  uint64
	Data []byte
}

// A Broker gives the room's messages their order and keeps the recent
// ones. The room publishes through it and reads every message back from
// one subscription, so all the room's clients see the broker's order,
// and rooms in several processes that share a broker (see redisBroker)
// are one room.
//
// A Broker is safe for concurrent use.
type Broker interface {
	// Publish appends data, a JSON object, to the room's log and returns
	// its position: one more than the previous message's, starting at 1
	// in each epoch.
	Publish(ctx context.Context, data []byte) (Position, error)
	// Subscribe returns a subscription to every message published after
	// the call, and the position of the latest message before it (Seq 0
	// if none). The subscription ends with ctx.
	Subscribe(ctx context.Context) (Subscription, Position, error)
	// Since returns the messages held with sequence numbers above
	// after.Seq, oldest first. complete is false when some of the
	// messages after after are no longer held, so the first one returned
	// is not after.Seq+1. If after is from another epoch than the
	// broker's, Since returns a *ResetError.
	Since(ctx context.Context, after Position) (msgs []Message, complete bool, err error)
}

// A Subscription reads a broker's messages in sequence order. It is not
// safe for concurrent use.
type Subscription interface {
	// Next waits for the next message. If the subscriber fell so far
	// behind that the next message is no longer held, Next returns
	// ErrLagged and continues from the oldest message held. If the
	// broker lost its log, Next returns a *ResetError and continues with
	// the new epoch's messages.
	Next(ctx context.Context) (Message, error)
}

// ErrLagged reports a subscriber that fell behind the broker's retention.
var ErrLagged = errors.New("chat: subscriber fell behind the broker's history")

// A ResetError reports that the broker lost the room's log and began a
// new epoch: every position from before is stale.
type ResetError struct {
	// Head is where the reader goes on from: the new epoch, and the
	// sequence number before the first message it returns next.
	Head Position
}

func (e *ResetError) Error() string {
	return fmt.Sprintf("chat: the broker lost the room's history; it goes on in epoch %s after %d", e.Head.Epoch, e.Head.Seq)
}

// newEpoch returns a random epoch name: 16 hex digits.
func newEpoch() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// memBroker is a Broker in memory: a ring of the latest messages.
type memBroker struct {
	epoch string // one per process: a restart loses the log

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
	return &memBroker{epoch: newEpoch(), ring: make([]Message, keep), wake: make(chan struct{})}
}

func (b *memBroker) Publish(ctx context.Context, data []byte) (Position, error) {
	if err := ctx.Err(); err != nil {
		return Position{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last++
	b.ring[b.last%uint64(len(b.ring))] = Message{Seq: b.last, Data: data}
	b.held = min(b.held+1, len(b.ring))
	close(b.wake)
	b.wake = make(chan struct{})
	return Position{b.epoch, b.last}, nil
}

func (b *memBroker) Subscribe(ctx context.Context) (Subscription, Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, Position{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return &memSubscription{b: b, pos: b.last}, Position{b.epoch, b.last}, nil
}

func (b *memBroker) Since(ctx context.Context, pos Position) ([]Message, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if pos.Epoch != b.epoch {
		return nil, false, &ResetError{Head: Position{b.epoch, 0}}
	}
	after := pos.Seq
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
