package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/ab7c482b/websocket/internal/redis"
)

// redisBroker is a Broker in Redis, so that chat processes sharing one
// Redis serve one room. Three keys hold the room:
//
//	chat:{room}:meta  a hash: epoch, the current epoch's name, and seq,
//	                  the last sequence number given
//	chat:{room}:log   a stream of the latest keep messages, entry ID
//	                  "<seq>-0", field "d" the message
//	chat:{room}:pub   the channel each message is published on, as
//	                  "<epoch> <seq> <data>"
//
// One Lua script per message takes the next number, appends to the
// stream and publishes, atomically, so every process sees one order.
// When the meta hash is missing, Redis has lost the room (a restart
// without persistence, a flush): the first script to notice starts a
// new epoch, and positions from the old one no longer match.
type redisBroker struct {
	c    *redis.Client
	log  *slog.Logger
	keep int
	keys []string // meta, log
	pub  string

	fromLog atomic.Uint64 // messages subscriptions read from the log
}

// newRedisBroker returns a broker for the room named room in the Redis
// that c talks to, keeping the latest keep messages.
func newRedisBroker(c *redis.Client, room string, keep int, log *slog.Logger) *redisBroker {
	if keep <= 0 {
		panic("chat: newRedisBroker needs a positive size")
	}
	// The braces keep a room's keys in one Redis Cluster slot.
	prefix := "chat:{" + room + "}:"
	return &redisBroker{
		c:    c,
		log:  log,
		keep: keep,
		keys: []string{prefix + "meta", prefix + "log"},
		pub:  prefix + "pub",
	}
}

// epochLua starts the scripts: it returns the room's epoch, starting a
// new one named ARGV[1] if the room has none. KEYS are the meta hash and
// the stream.
const epochLua = `
local function epoch()
  local e = redis.call('HGET', KEYS[1], 'epoch')
  if e then return e end
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'seq', 0)
  return ARGV[1]
end
`

// publishScript appends ARGV[4] to the log, keeping ARGV[2] entries,
// publishes it on ARGV[3], and returns {epoch, seq}.
var publishScript = redis.NewScript(epochLua + `
local e = epoch()
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local s = string.format('%d', seq)
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], s .. '-0', 'd', ARGV[4])
redis.call('PUBLISH', ARGV[3], e .. ' ' .. s .. ' ' .. ARGV[4])
return {e, seq}
`)

// sinceScript returns {epoch, seq, entries}: the room's epoch and last
// seq, and if ARGV[2] is that epoch, the log's entries from ID ARGV[3]
// on.
var sinceScript = redis.NewScript(epochLua + `
local e = epoch()
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq'))
if e ~= ARGV[2] then return {e, seq, {}} end
return {e, seq, redis.call('XRANGE', KEYS[2], ARGV[3], '+')}
`)

func (b *redisBroker) Publish(ctx context.Context, data []byte) (Position, error) {
	r, err := publishScript.Run(ctx, b.c, b.keys, newEpoch(), strconv.Itoa(b.keep), b.pub, string(data))
	if err != nil {
		return Position{}, fmt.Errorf("chat: publish: %w", err)
	}
	if r.Kind != redis.KindArray || len(r.Elems) != 2 {
		return Position{}, fmt.Errorf("chat: publish: unexpected reply %v", r)
	}
	epoch, err1 := r.Elems[0].Text()
	seq, err2 := r.Elems[1].Integer()
	if err := errors.Join(err1, err2); err != nil {
		return Position{}, fmt.Errorf("chat: publish: %w", err)
	}
	return Position{epoch, uint64(seq)}, nil
}

func (b *redisBroker) Since(ctx context.Context, after Position) ([]Message, bool, error) {
	head, msgs, err := b.since(ctx, after)
	if err != nil {
		return nil, false, err
	}
	if head.Epoch != after.Epoch {
		return nil, false, &ResetError{Head: Position{head.Epoch, 0}}
	}
	complete := after.Seq >= head.Seq || len(msgs) > 0 && msgs[0].Seq == after.Seq+1
	return msgs, complete, nil
}

// since runs sinceScript: the room's head, and the messages after after
// if it is of the head's epoch.
func (b *redisBroker) since(ctx context.Context, after Position) (Position, []Message, error) {
	r, err := sinceScript.Run(ctx, b.c, b.keys, newEpoch(), after.Epoch, strconv.FormatUint(after.Seq+1, 10)+"-0")
	if err != nil {
		return Position{}, nil, fmt.Errorf("chat: read the log: %w", err)
	}
	if r.Kind != redis.KindArray || len(r.Elems) != 3 || r.Elems[2].Kind != redis.KindArray {
		return Position{}, nil, fmt.Errorf("chat: read the log: unexpected reply %v", r)
	}
	epoch, err1 := r.Elems[0].Text()
	seq, err2 := r.Elems[1].Integer()
	if err := errors.Join(err1, err2); err != nil {
		return Position{}, nil, fmt.Errorf("chat: read the log: %w", err)
	}
	entries := r.Elems[2].Elems
	msgs := make([]Message, 0, len(entries))
	for _, e := range entries {
		m, err := entryMessage(e)
		if err != nil {
			return Position{}, nil, fmt.Errorf("chat: read the log: %w", err)
		}
		msgs = append(msgs, m)
	}
	return Position{epoch, uint64(seq)}, msgs, nil
}

// entryMessage decodes a stream entry: [ID, [field, value, ...]].
func entryMessage(e redis.Reply) (Message, error) {
	if e.Kind != redis.KindArray || len(e.Elems) != 2 || len(e.Elems[1].Elems) < 2 {
		return Message{}, fmt.Errorf("bad stream entry %v", e)
	}
	id, _ := e.Elems[0].Text()
	s, _, _ := strings.Cut(id, "-")
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return Message{}, fmt.Errorf("bad stream entry ID %q", id)
	}
	data, err := e.Elems[1].Elems[1].Text()
	if err != nil {
		return Message{}, fmt.Errorf("bad stream entry %s: %w", id, err)
	}
	return Message{Seq: seq, Data: []byte(data)}, nil
}

// Subscribe subscribes first and reads the head second, so that no
// message falls between the two: one published in between arrives on
// the channel and is skipped as already held.
func (b *redisBroker) Subscribe(ctx context.Context) (Subscription, Position, error) {
	ps := b.c.Subscribe(b.pub)
	for {
		ev, err := ps.Receive(ctx)
		if err != nil {
			ps.Close()
			return nil, Position{}, fmt.Errorf("chat: subscribe: %w", err)
		}
		if ev.Kind == "subscribe" {
			break
		}
	}
	// No epoch matches the empty one: this reads the head alone.
	head, _, err := b.since(ctx, Position{})
	if err != nil {
		ps.Close()
		return nil, Position{}, err
	}
	context.AfterFunc(ctx, func() { ps.Close() })
	return &redisSubscription{b: b, ps: ps, pos: head}, head, nil
}

// redisSubscription delivers the channel's messages in sequence order,
// filling any gap from the log: after every reconnect, and whenever a
// message's number is not the next one expected.
type redisSubscription struct {
	b     *redisBroker
	ps    *redis.PubSub
	pos   Position  // the last message delivered
	ahead []Message // read from the log, to deliver before the channel
}

func (s *redisSubscription) Next(ctx context.Context) (Message, error) {
	for {
		for len(s.ahead) > 0 {
			m := s.ahead[0]
			s.ahead = s.ahead[1:]
			if m.Seq > s.pos.Seq {
				s.pos.Seq = m.Seq
				return m, nil
			}
		}
		ev, err := s.ps.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return Message{}, err
			}
			s.b.log.Warn("redis subscription lost; reconnecting", "err", err)
			continue
		}
		if ev.Kind == "subscribe" {
			// (Re)subscribed: whatever was published meanwhile is in
			// the log only.
			if err := s.fill(ctx); err != nil {
				return Message{}, err
			}
			continue
		}
		epoch, seq, data, ok := parsePublished(ev.Payload)
		switch {
		case !ok:
			s.b.log.Error("undecodable message on the room's channel", "payload", ev.Payload)
		case epoch == s.pos.Epoch && seq <= s.pos.Seq:
			// Delivered already, from the log.
		case epoch == s.pos.Epoch && seq == s.pos.Seq+1:
			s.pos.Seq = seq
			return Message{Seq: seq, Data: data}, nil
		default:
			// A gap, or another epoch: the log knows.
			if err := s.fill(ctx); err != nil {
				return Message{}, err
			}
		}
	}
}

// fill reads the log after the last message delivered into ahead. It
// returns ErrLagged if the log no longer holds the next message, and a
// *ResetError if the log is of a new epoch; either way ahead then holds
// what comes next. If the log cannot be read, it drops the subscription,
// whose next "subscribe" fills again.
func (s *redisSubscription) fill(ctx context.Context) error {
	head, msgs, err := s.b.since(ctx, s.pos)
	reset := err == nil && head.Epoch != s.pos.Epoch
	if reset {
		want := head.Epoch
		head, msgs, err = s.b.since(ctx, Position{want, 0})
		if err == nil && head.Epoch != want {
			err = errors.New("the log was reset twice over")
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.b.log.Warn("cannot catch up from the redis log; resubscribing", "err", err)
		s.ps.Drop()
		return nil
	}
	s.ahead = msgs
	if len(msgs) > 0 {
		s.b.fromLog.Add(uint64(len(msgs)))
		s.b.log.Info("caught up from the redis log", "messages", len(msgs), "after", s.pos.Seq, "epoch", head.Epoch)
	}
	first := head.Seq + 1 // the first message ahead
	if len(msgs) > 0 {
		first = msgs[0].Seq
	}
	switch {
	case reset:
		s.pos = Position{head.Epoch, first - 1}
		return &ResetError{Head: s.pos}
	case first > s.pos.Seq+1:
		s.pos.Seq = first - 1
		return ErrLagged
	}
	return nil
}

// parsePublished splits a channel message, "<epoch> <seq> <data>".
func parsePublished(p string) (epoch string, seq uint64, data []byte, ok bool) {
	epoch, rest, ok1 := strings.Cut(p, " ")
	s, d, ok2 := strings.Cut(rest, " ")
	seq, err := strconv.ParseUint(s, 10, 64)
	if !ok1 || !ok2 || err != nil {
		return "", 0, nil, false
	}
	return epoch, seq, []byte(d), true
}

// Close closes the client's idle connections.
func (b *redisBroker) Close() error { return b.c.Close() }
