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
	// the room closes it as too slow, and QueueBytes how many bytes of
	// them; a zero QueueBytes means ws.DefaultQueueBytes. A newcomer's
	// backlog (welcome, notices, history) comes on top of both.
	Queue      int
	QueueBytes int
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
	if c.QueueBytes <= 0 {
		c.QueueBytes = ws.DefaultQueueBytes
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
	reasonReset    = "the room's history was reset, please reconnect"
	reasonDown     = "the room's message store is unavailable"
)

var (
	errRoomClosed = errors.New("chat: room closed")
	errRoomFull   = errors.New("chat: room is full")
	// errRoomReset and errRoomBusy refuse a join that the fan-out overtook
	// while it read the history: the broker lost the room meanwhile, or
	// more messages went by than the room's cache holds.
	errRoomReset = errors.New("chat: the room's history was reset during the join")
	errRoomBusy  = errors.New("chat: too many messages during the join")
)

// A Room is a chat room: clients join it with Serve, and every message
// one of them sends reaches all of them, in the order of the room's
// Broker. Its methods are safe for concurrent use.
//
// One goroutine (fanOut) reads the broker's subscription, encodes each
// message once and offers it to every client's bounded ws.Queue without
// waiting; a client whose queue is full is closed as too slow, so no
// client can hold up the others.
type Room struct {
	cfg    roomConfig
	broker Broker
	log    *slog.Logger
	conns  ws.Group // every client's connection, for the shutdown

	mu      sync.Mutex
	members map[*client]struct{} // clients receiving the fan-out
	live    map[*client]struct{} // clients whose Serve has not returned
	users   map[string]string    // id → name, as of message last
	last    Position             // the latest message fanned out
	recent  []prepared           // recent[seq % len] caches seq's encoding, in last's epoch
	closed  bool
	clients sync.WaitGroup // one per live client

	stopFanOut context.CancelFunc
	fanOutDone chan struct{}
}

// prepared is a sequenced message ready to send.
type prepared struct {
	seq  uint64
	pm   *ws.PreparedMessage
	size int // the bytes of the message pm holds
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
	users, err := replayUsers(ctx, b, last)
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
		users:      users,
		last:       last,
		recent:     make([]prepared, max(cfg.History, 1)),
		stopFanOut: cancel,
		fanOutDone: make(chan struct{}),
	}
	r.conns.Reason = reasonShutdown
	go r.fanOut(ctx, sub)
	return r, nil
}

// replayUsers returns who is online as of last, as far as the messages
// the broker still holds tell: a process joining a shared room learns
// who the others serve. Those who joined before the oldest message held
// are missing until they rename or leave.
func replayUsers(ctx context.Context, b Broker, last Position) (map[string]string, error) {
	users := make(map[string]string)
	if last.Seq == 0 {
		return users, nil
	}
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	msgs, _, err := b.Since(ctx, Position{last.Epoch, 0})
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if m.Seq > last.Seq {
			break
		}
		var ev event
		if json.Unmarshal(m.Data, &ev) == nil {
			applyUser(users, ev)
		}
	}
	return users, nil
}

// applyUser updates who is online for one sequenced event.
func applyUser(users map[string]string, ev event) {
	switch ev.Type {
	case typeJoin, typeRename:
		users[ev.ID] = ev.Name
	case typeLeave:
		delete(users, ev.ID)
	}
}

// fanOut delivers the broker's messages to every member, in order.
func (r *Room) fanOut(ctx context.Context, sub Subscription) {
	defer close(r.fanOutDone)
	for {
		m, err := sub.Next(ctx)
		var reset *ResetError
		switch {
		case errors.Is(err, ErrLagged):
			// Members would miss messages without knowing it; close
			// them instead, and their pages resume with a notice.
			r.log.Error("fan-out fell behind the broker; closing every member")
			r.mu.Lock()
			r.dropAllLocked(reasonBehind)
			r.mu.Unlock()
			continue
		case errors.As(err, &reset):
			// What the members were shown is gone from the broker:
			// close them, and their pages come back to a reset.
			r.log.Error("the broker lost the room's history; closing every member", "epoch", reset.Head.Epoch)
			r.mu.Lock()
			r.last = reset.Head
			clear(r.users)
			clear(r.recent)
			r.dropAllLocked(reasonReset)
			r.mu.Unlock()
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				r.log.Error("fan-out stopped", "err", err)
			}
			return
		}
		data := withSeq(m.Seq, m.Data)
		pm := mustPrepare(data)
		var ev event
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			r.log.Error("undecodable message in the log", "seq", m.Seq, "err", err)
		}
		r.mu.Lock()
		applyUser(r.users, ev)
		r.last.Seq = m.Seq
		r.recent[m.Seq%uint64(len(r.recent))] = prepared{m.Seq, pm, len(data)}
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
	// Epoch, if not empty, is the epoch Since belongs to; a page from
	// before the broker lost the room's history gets a reset.
	Since    uint64
	Epoch    string
	HasSince bool
	// Remote is the client's address, for the log.
	Remote string
}

// register makes cl a member, and gives it a send queue that starts with
// what it must be sent before any live message: the welcome, any notice,
// and the history. The history is read from the broker without the room's
// lock, so that a networked broker's round trip does not hold up the
// fan-out; the messages fanned out meanwhile are then queued from the
// room's cache under the lock, with the membership, so the client sees
// every message exactly once, in order.
func (r *Room) register(cl *client, req joinRequest) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errRoomClosed
	}
	if r.cfg.MaxClients > 0 && len(r.live) >= r.cfg.MaxClients {
		r.mu.Unlock()
		return errRoomFull
	}
	last := r.last
	users := make([]user, 0, len(r.users))
	for _, id := range slices.Sorted(maps.Keys(r.users)) {
		users = append(users, user{ID: id, Name: r.users[id]})
	}
	r.mu.Unlock()

	var bl backlog
	bl.add(encode(welcome{
		Type:       typeWelcome,
		ID:         cl.id,
		Name:       cl.name,
		Epoch:      last.Epoch,
		Last:       last.Seq,
		Users:      users,
		MaxMessage: r.cfg.MaxMessage,
		Rate:       r.cfg.Rate,
		Burst:      r.cfg.Burst,
	}))
	if err := r.history(&bl, req, last); err != nil {
		return err
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errRoomClosed
	}
	if r.last.Epoch != last.Epoch {
		return errRoomReset
	}
	// What the fan-out delivered while the history was read.
	for seq := last.Seq + 1; seq <= r.last.Seq; seq++ {
		p := r.recent[seq%uint64(len(r.recent))]
		if p.seq != seq || p.pm == nil {
			return errRoomBusy // more than the cache holds: try again
		}
		bl.msgs = append(bl.msgs, p.pm)
		bl.size += p.size
	}

	// The queue closes a client that falls Queue messages (or QueueBytes
	// bytes) behind what it holds now, and one that takes longer than
	// WriteTimeout to take a message, with 1013 "too slow".
	cl.queue = ws.NewQueue(cl.conn, &ws.QueueOptions{
		MaxMessages:  r.cfg.Queue + len(bl.msgs),
		MaxBytes:     r.cfg.QueueBytes + bl.size,
		Policy:       ws.QueueClose,
		WriteTimeout: r.cfg.WriteTimeout,
		CloseCode:    ws.StatusTryAgainLater,
		CloseReason:  reasonTooSlow,
	})
	for _, pm := range bl.msgs {
		if err := cl.queue.SendPrepared(context.Background(), pm); err != nil {
			cl.queue.Close()
			return err
		}
	}
	r.conns.Add(cl.conn)
	r.members[cl] = struct{}{}
	r.live[cl] = struct{}{}
	r.clients.Add(1)
	return nil
}

// history adds to bl what a client joining at last is sent after the
// welcome: any notice, then the messages it missed if it is resuming, or
// else the latest History messages.
func (r *Room) history(bl *backlog, req joinRequest, last Position) error {
	stale := req.HasSince && (req.Epoch != "" && req.Epoch != last.Epoch || req.Since > last.Seq)
	resume := req.HasSince && !stale
	after := Position{last.Epoch, 0}
	switch {
	case resume:
		after.Seq = req.Since
	case last.Seq > uint64(r.cfg.History):
		after.Seq = last.Seq - uint64(r.cfg.History)
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	msgs, complete, err := r.broker.Since(ctx, after)
	if err != nil {
		return err
	}
	// The broker may already hold messages past last; those reach the
	// client from the room's cache or the fan-out.
	msgs = slices.DeleteFunc(msgs, func(m Message) bool { return m.Seq > last.Seq })
	if !resume || !complete {
		// A newcomer, or a page back from too long away, gets the
		// latest History messages.
		msgs = msgs[max(len(msgs)-r.cfg.History, 0):]
	}
	switch {
	case stale:
		// The page's messages are from a log the room no longer has:
		// it replaces them with what follows.
		bl.add(encode(notice{
			Type:  typeRestarted,
			After: req.Since,
			Text:  "The room restarted and lost its history; showing the latest messages.",
		}))
	case resume && !complete:
		first := last.Seq + 1
		if len(msgs) > 0 {
			first = msgs[0].Seq
		}
		bl.add(encode(notice{
			Type:  typeMissed,
			After: req.Since,
			First: first,
			Text:  "Some messages were missed while you were away.",
		}))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		bl.msgs = append(bl.msgs, r.preparedLocked(last.Epoch, m))
		bl.size += len(m.Data) + maxSeqField
	}
	return nil
}

// maxSeqField bounds what withSeq adds to a message: `"seq":N,`.
const maxSeqField = len(`"seq":18446744073709551615,`)

// backlog is what a newcomer is sent before live messages, and an upper
// bound of its payload bytes.
type backlog struct {
	msgs []*ws.PreparedMessage
	size int
}

// add appends a message encoded as b.
func (bl *backlog) add(b []byte) {
	bl.msgs = append(bl.msgs, mustPrepare(b))
	bl.size += len(b)
}

// preparedLocked returns the encoding of m, of epoch, from the cache if
// it is there.
func (r *Room) preparedLocked(epoch string, m Message) *ws.PreparedMessage {
	if p := r.recent[m.Seq%uint64(len(r.recent))]; epoch == r.last.Epoch && p.seq == m.Seq && p.pm != nil {
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

// dropAllLocked closes every member with StatusTryAgainLater and
// reason; their pages reconnect and resume. The caller holds mu.
func (r *Room) dropAllLocked(reason string) {
	for cl := range r.members {
		r.dropLocked(cl, ws.StatusTryAgainLater, reason)
	}
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

	// The clients, stopped, leave their connections to the Group, which
	// closes them all at once and every one by ctx's end; then each
	// client's goroutines see their connection end.
	err := r.conns.Shutdown(ctx)
	r.clients.Wait()
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
