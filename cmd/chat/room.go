package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ab7c482b/websocket/ws"
)

// roomConfig holds a room's limits. A zero field means the default of the
// matching flag in main.go, unless the field says otherwise.
type roomConfig struct {
	// History is how many of the latest messages a newcomer receives;
	// zero means none.
	History int
	// MaxMessage bounds the text of one chat message, in bytes.
	MaxMessage int
	// Rate and Burst shape each client's token bucket: Rate commands a
	// second, Burst at once. A Rate of zero or less turns the limit off.
	Rate  float64
	Burst int
	// Queue is how many live messages a client may fall behind before
	// the room closes it as too slow.
	Queue int
	// MaxClients bounds the clients in the room; zero means no bound.
	MaxClients int
	// WriteTimeout bounds one write to a client.
	WriteTimeout time.Duration
	// Logger receives connect, disconnect and error records; nil means
	// slog.Default().
	Logger *slog.Logger

	now func() time.Time // the clock, for tests; nil means time.Now
}

func (c *roomConfig) setDefaults() {
	c.History = max(c.History, 0)
	if c.MaxMessage <= 0 {
		c.MaxMessage = 4096
	}
	if c.Burst <= 0 {
		c.Burst = 5
	}
	if c.Queue <= 0 {
		c.Queue = 128
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
}

// Close codes and reasons the room sends.
const (
	reasonTooSlow  = "too slow"
	reasonShutdown = "server shutting down"
	reasonFull     = "room is full"
	reasonBehind   = "server fell behind, please reconnect"
)

var (
	errRoomClosed = errors.New("chat: room closed")
	errRoomFull   = errors.New("chat: room is full")
)

// A Room is a chat room: clients join it with Serve, and every message
// one of them sends reaches all of them, in the order of the room's
// Broker. Its methods are safe for concurrent use.
//
// One goroutine (fanOut) reads the broker's subscription, encodes each
// message once and offers it to every client's bounded queue without
// waiting; a client whose queue is full is closed as too slow, so no
// client can hold up the others.
type Room struct {
	cfg    roomConfig
	broker Broker
	log    *slog.Logger

	mu      sync.Mutex
	members map[*client]struct{} // clients receiving the fan-out
	live    map[*client]struct{} // clients whose Serve has not returned
	users   map[string]string    // id → name, as of message last
	last    uint64               // the latest message fanned out
	recent  []prepared           // recent[seq % len] caches seq's encoding
	closed  bool
	clients sync.WaitGroup // one per live client

	stopFanOut context.CancelFunc
	fanOutDone chan struct{}
}

// prepared is a sequenced message ready to send.
type prepared struct {
	seq uint64
	pm  *ws.PreparedMessage
}

// newRoom starts a room over b. Close stops it.
func newRoom(b Broker, cfg roomConfig) (*Room, error) {
	cfg.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	sub, last, err := b.Subscribe(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	r := &Room{
		cfg:        cfg,
		broker:     b,
		log:        cfg.Logger,
		members:    make(map[*client]struct{}),
		live:       make(map[*client]struct{}),
		users:      make(map[string]string),
		last:       last,
		recent:     make([]prepared, max(cfg.History, 1)),
		stopFanOut: cancel,
		fanOutDone: make(chan struct{}),
	}
	// TODO: a broker shared between processes would also need a snapshot
	// of who is online at last; an in-memory one always starts empty.
	go r.fanOut(ctx, sub)
	return r, nil
}

// fanOut delivers the broker's messages to every member, in order.
func (r *Room) fanOut(ctx context.Context, sub Subscription) {
	defer close(r.fanOutDone)
	for {
		m, err := sub.Next(ctx)
		if errors.Is(err, ErrLagged) {
			// Members would miss messages without knowing it; close
			// them instead, and their pages resume with a notice.
			r.log.Error("fan-out fell behind the broker; closing every member")
			r.mu.Lock()
			for cl := range r.members {
				r.dropLocked(cl, ws.StatusTryAgainLater, reasonBehind)
			}
			r.mu.Unlock()
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				r.log.Error("fan-out stopped", "err", err)
			}
			return
		}
		pm := mustPrepare(withSeq(m.Seq, m.Data))
		var ev event
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			r.log.Error("undecodable message in the log", "seq", m.Seq, "err", err)
		}
		r.mu.Lock()
		switch ev.Type {
		case typeJoin, typeRename:
			r.users[ev.ID] = ev.Name
		case typeLeave:
			delete(r.users, ev.ID)
		}
		r.last = m.Seq
		r.recent[m.Seq%uint64(len(r.recent))] = prepared{m.Seq, pm}
		for cl := range r.members {
			if !cl.offer(pm) {
				r.dropLocked(cl, ws.StatusTryAgainLater, reasonTooSlow)
			}
		}
		r.mu.Unlock()
	}
}

// joinRequest is what a client asks for when it joins.
type joinRequest struct {
	// Name is the display name to start with; empty or invalid means a
	// generated one.
	Name string
	// Since, if HasSince, is the last sequence number the client saw: it
	// is resuming and wants what it missed instead of the usual history.
	Since    uint64
	HasSince bool
	// Remote is the client's address, for the log.
	Remote string
}

// register makes cl a member and returns what it must be sent before any
// live message: the welcome, any notice, and the history. The snapshot of
// users, the history and membership are taken under one lock with the
// fan-out, so the client sees every message exactly once, in order.
func (r *Room) register(cl *client, req joinRequest) ([]*ws.PreparedMessage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errRoomClosed
	}
	if r.cfg.MaxClients > 0 && len(r.live) >= r.cfg.MaxClients {
		return nil, errRoomFull
	}
	last := r.last
	var backlog []*ws.PreparedMessage
	users := make([]user, 0, len(r.users))
	for _, id := range slices.Sorted(maps.Keys(r.users)) {
		users = append(users, user{ID: id, Name: r.users[id]})
	}
	backlog = append(backlog, mustPrepare(encode(welcome{
		Type:       typeWelcome,
		ID:         cl.id,
		Name:       cl.name,
		Last:       last,
		Users:      users,
		MaxMessage: r.cfg.MaxMessage,
		Rate:       r.cfg.Rate,
		Burst:      r.cfg.Burst,
	})))

	resume := req.HasSince && req.Since <= last
	after := uint64(0)
	if resume {
		after = req.Since
	}
	// The broker may already hold messages past last; those reach the
	// client through the fan-out.
	msgs, complete, err := r.broker.Since(context.Background(), after)
	if err != nil {
		return nil, err
	}
	msgs = slices.DeleteFunc(msgs, func(m Message) bool { return m.Seq > last })
	if !resume || !complete {
		// A newcomer, or a page back from too long away, gets the
		// latest History messages.
		msgs = msgs[max(len(msgs)-r.cfg.History, 0):]
	}
	switch {
	case req.HasSince && !resume:
		backlog = append(backlog, mustPrepare(encode(notice{
			Type:  typeRestarted,
			After: req.Since,
			Text:  "The room restarted; earlier messages are gone.",
		})))
	case resume && !complete:
		first := last + 1
		if len(msgs) > 0 {
			first = msgs[0].Seq
		}
		backlog = append(backlog, mustPrepare(encode(notice{
			Type:  typeMissed,
			After: req.Since,
			First: first,
			Text:  "Some messages were missed while you were away.",
		})))
	}
	for _, m := range msgs {
		backlog = append(backlog, r.preparedLocked(m))
	}

	r.members[cl] = struct{}{}
	r.live[cl] = struct{}{}
	r.clients.Add(1)
	return backlog, nil
}

// preparedLocked returns m's encoding, from the cache if it is there.
func (r *Room) preparedLocked(m Message) *ws.PreparedMessage {
	if p := r.recent[m.Seq%uint64(len(r.recent))]; p.seq == m.Seq && p.pm != nil {
		return p.pm
	}
	return mustPrepare(withSeq(m.Seq, m.Data))
}

// dropLocked takes cl out of the fan-out and stops it with code and
// reason. The caller holds mu.
func (r *Room) dropLocked(cl *client, code ws.StatusCode, reason string) {
	delete(r.members, cl)
	cl.stop(code, reason, false)
}

// leave takes cl out of the room once its Serve is done with it.
func (r *Room) leave(cl *client) {
	r.mu.Lock()
	delete(r.members, cl)
	delete(r.live, cl)
	r.mu.Unlock()
	r.clients.Done()
}

// isClosed reports whether Close has begun.
func (r *Room) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Close shuts the room down: it closes every client with
// StatusGoingAway, refuses new ones the same way, and waits for all of
// them and the fan-out to finish. If ctx ends first, it drops the
// remaining connections without a closing handshake, waits for their
// goroutines, and returns ctx.Err().
func (r *Room) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errRoomClosed
	}
	r.closed = true
	for cl := range r.live {
		r.dropLocked(cl, ws.StatusGoingAway, reasonShutdown)
	}
	r.mu.Unlock()

	done := make(chan struct{})
	go func() {
		r.clients.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		r.mu.Lock()
		for cl := range r.live {
			cl.conn.CloseNow()
		}
		r.mu.Unlock()
		<-done
	}
	r.stopFanOut()
	<-r.fanOutDone
	return err
}

// mustPrepare wraps a text message that cannot fail to prepare.
func mustPrepare(b []byte) *ws.PreparedMessage {
	pm, err := ws.NewPreparedMessage(ws.MessageText, b)
	if err != nil {
		panic(err)
	}
	return pm
}
