package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ab7c482b/websocket/ws"
)

// publishTimeout bounds one Publish to the broker.
const publishTimeout = 5 * time.Second

// client is one connection in a room. Its reading goroutine handles the
// commands it sends; its send queue's goroutine is the only one that
// writes its messages, the backlog first.
type client struct {
	room  *Room
	conn  *ws.Conn
	id    string
	queue *ws.Queue // set by register

	stopOnce sync.Once
	stopped  chan struct{}
	code     ws.StatusCode // why the client stopped; set before stopped closes
	reason   string
	byPeer   bool // the peer ended the connection

	pubMu sync.Mutex // keeps this client's messages before its leave
	name  string     // under pubMu
	left  bool       // under pubMu: the leave is published

	bucket bucket // the reading goroutine's
}

// Serve runs conn as a member of the room until it leaves, is closed as
// too slow, or the room closes, and returns when every goroutine it
// started has finished. Serve owns conn and closes it.
func (r *Room) Serve(conn *ws.Conn, req joinRequest) {
	id := newID()
	name, ok := cleanName(req.Name)
	if !ok {
		name = "guest-" + id[:4]
	}
	cl := &client{
		room:    r,
		conn:    conn,
		id:      id,
		name:    name,
		stopped: make(chan struct{}),
		bucket:  newBucket(r.cfg.Rate, r.cfg.Burst, r.cfg.now()),
	}
	err := r.register(cl, req)
	if err != nil {
		// Otherwise the broker failed: the page tries again later.
		code, reason := ws.StatusTryAgainLater, reasonDown
		var reset *ResetError
		switch {
		case errors.Is(err, net.ErrClosed):
			conn.CloseNow() // gone before it joined
			return
		case errors.Is(err, errRoomClosed):
			code, reason = ws.StatusGoingAway, reasonShutdown
		case errors.Is(err, errRoomFull):
			reason = reasonFull
		case errors.As(err, &reset), errors.Is(err, errRoomReset):
			reason = reasonReset
		case errors.Is(err, errRoomBusy):
			reason = reasonBehind
		default:
			r.log.Error("join failed", "remote", req.Remote, "err", err)
		}
		r.log.Info("refused", "remote", req.Remote, "code", int(code), "reason", reason)
		conn.Close(code, reason)
		return
	}
	defer r.leave(cl)
	start := time.Now()
	attrs := []any{"id", id, "name", name, "remote", req.Remote}
	if req.HasSince {
		attrs = append(attrs, "since", req.Since, "epoch", req.Epoch)
	}
	r.log.Info("connect", attrs...)

	cl.pubMu.Lock()
	err = cl.publishLocked(event{Type: typeJoin})
	cl.pubMu.Unlock()
	joined := err == nil
	if !joined {
		r.log.Error("publish join", "id", id, "err", err)
		cl.stop(ws.StatusTryAgainLater, reasonDown, false)
	}

	var wg sync.WaitGroup
	wg.Go(cl.read)
	select {
	case <-cl.stopped:
	case <-cl.queue.Done():
		cl.queueStopped()
		<-cl.stopped
	}

	r.mu.Lock()
	delete(r.members, cl)
	r.mu.Unlock()
	cl.pubMu.Lock()
	// No leave for those a shutdown closes: nobody stays to read it.
	if joined && !r.isClosed() {
		if err := cl.publishLocked(event{Type: typeLeave, Reason: cl.leaveReason()}); err != nil {
			r.log.Error("publish leave", "id", id, "err", err)
		}
	}
	cl.left = true
	name = cl.name
	cl.pubMu.Unlock()
	cl.close()
	wg.Wait()
	<-cl.queue.Done()

	by := "server"
	if cl.byPeer {
		by = "client"
	}
	r.log.Info("disconnect", "id", id, "name", name, "code", int(cl.code),
		"reason", cl.reason, "by", by, "duration", time.Since(start).Round(time.Millisecond))
}

// stop ends the client's time in the room, for the first reason given;
// Serve and the two goroutines take it from there.
func (cl *client) stop(code ws.StatusCode, reason string, byPeer bool) {
	cl.stopOnce.Do(func() {
		cl.code, cl.reason, cl.byPeer = code, reason, byPeer
		close(cl.stopped)
	})
}

func (cl *client) isStopped() bool {
	select {
	case <-cl.stopped:
		return true
	default:
		return false
	}
}

// offer queues pm without waiting, and reports false if the client is
// too slow to take it: the queue has then given up on the client and is
// closing its connection with 1013. A client whose connection is closing
// for another reason takes nothing, and is reported as keeping up.
func (cl *client) offer(pm *ws.PreparedMessage) bool {
	return !isTooSlow(cl.queue.SendPrepared(context.Background(), pm))
}

// isTooSlow reports whether err, from the send queue, says the client
// fell too far behind or took too long over one message.
func isTooSlow(err error) bool {
	return errors.Is(err, ws.ErrQueueFull) || errors.Is(err, context.DeadlineExceeded)
}

// queueStopped handles the send queue stopping by itself.
func (cl *client) queueStopped() {
	err := cl.queue.Err()
	switch {
	case isTooSlow(err):
		// The queue is closing the connection as too slow.
		cl.stop(ws.StatusTryAgainLater, reasonTooSlow, false)
	case errors.Is(err, net.ErrClosed):
		// The connection closed; the reading goroutine says how.
	default:
		cl.room.log.Warn("write failed", "id", cl.id, "err", err)
		cl.stop(ws.StatusAbnormalClosure, "write failed", false)
	}
}

// leaveReason says in a few words why the client left, for the others.
func (cl *client) leaveReason() string {
	switch {
	case cl.reason == reasonTooSlow:
		return reasonTooSlow
	case cl.byPeer && (cl.code == ws.StatusNormalClosure || cl.code == ws.StatusGoingAway):
		return "left"
	case cl.code == ws.StatusAbnormalClosure:
		return "connection lost"
	}
	return "disconnected"
}

// publishLocked publishes ev as this client, unless it has left. The
// caller holds pubMu.
func (cl *client) publishLocked(ev event) error {
	if cl.left {
		return nil
	}
	ev.Time = timestamp(cl.room.cfg.now())
	ev.ID = cl.id
	if ev.Name == "" {
		ev.Name = cl.name
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	_, err := cl.room.broker.Publish(ctx, encode(ev))
	return err
}

// read handles the client's commands until the connection ends. It
// keeps reading after the client is stopped, so that the closing
// handshake completes.
func (cl *client) read() {
	for {
		typ, data, err := cl.conn.Read(context.Background())
		if err != nil {
			cl.readFailed(err)
			return
		}
		if cl.isStopped() {
			continue
		}
		cl.handle(typ, data)
	}
}

func (cl *client) readFailed(err error) {
	var ce *ws.CloseError
	switch {
	case cl.isStopped():
		// This end closed the connection, for the reason already set.
	case isTooSlow(cl.queue.Err()):
		// The queue closed it: the close frame read here is the echo.
		cl.stop(ws.StatusTryAgainLater, reasonTooSlow, false)
	case errors.Is(err, ws.ErrPongTimeout):
		cl.stop(ws.StatusAbnormalClosure, "no pong: peer unreachable", false)
	case errors.As(err, &ce) && ce.Code != ws.StatusAbnormalClosure:
		cl.stop(ce.Code, ce.Reason, true)
	case errors.As(err, &ce), errors.Is(err, net.ErrClosed):
		cl.stop(ws.StatusAbnormalClosure, "connection lost", true)
	default:
		// The library has failed the connection with the close code
		// this error names (a protocol violation, a message over
		// the read limit).
		cl.room.log.Warn("read failed", "id", cl.id, "err", err)
		cl.stop(ws.StatusProtocolError, err.Error(), false)
	}
}

// handle runs one command.
func (cl *client) handle(typ ws.MessageType, data []byte) {
	var cmd command
	if typ != ws.MessageText {
		cl.reply(errBadRequest, "Commands are JSON text messages.", "", 0)
		return
	}
	if err := json.Unmarshal(data, &cmd); err != nil {
		cl.reply(errBadRequest, "Commands are JSON objects: "+err.Error(), "", 0)
		return
	}
	cfg := &cl.room.cfg
	if ok, wait := cl.bucket.take(cfg.now()); !ok {
		cl.reply(errRateLimited, fmt.Sprintf("Slow down: at most %s messages a second.",
			strconv.FormatFloat(cfg.Rate, 'f', -1, 64)), cmd.Ref, wait)
		return
	}
	switch cmd.Type {
	case cmdSend:
		text := strings.TrimSpace(cmd.Text)
		switch {
		case text == "":
			cl.reply(errEmpty, "The message is empty.", cmd.Ref, 0)
			return
		case len(text) > cfg.MaxMessage:
			cl.reply(errTooLong, fmt.Sprintf("The message is %d bytes long; the limit is %d.",
				len(text), cfg.MaxMessage), cmd.Ref, 0)
			return
		}
		cl.pubMu.Lock()
		err := cl.publishLocked(event{Type: typeMessage, Text: text})
		cl.pubMu.Unlock()
		cl.published(err, cmd.Ref)
	case cmdRename:
		name, ok := cleanName(cmd.Name)
		if !ok {
			cl.reply(errBadName, fmt.Sprintf("A name has 1 to %d characters, none of them control characters.",
				maxName), cmd.Ref, 0)
			return
		}
		cl.pubMu.Lock()
		var err error
		if name != cl.name {
			err = cl.publishLocked(event{Type: typeRename, Name: name, Old: cl.name})
			if err == nil {
				cl.name = name
			}
		}
		cl.pubMu.Unlock()
		cl.published(err, cmd.Ref)
	default:
		cl.reply(errBadRequest, fmt.Sprintf("Unknown command type %q.", cmd.Type), cmd.Ref, 0)
	}
}

func (cl *client) published(err error, ref string) {
	if err != nil {
		cl.room.log.Error("publish", "id", cl.id, "err", err)
		cl.reply(errUnavailable, "Not sent: the room's message store is unavailable. Try again in a moment.", ref, 0)
	}
}

// reply queues an error reply for this client alone.
func (cl *client) reply(code, text, ref string, retry time.Duration) {
	pm := mustPrepare(encode(errorReply{
		Type:    typeError,
		Code:    code,
		Text:    text,
		Ref:     ref,
		RetryMS: retry.Milliseconds(),
	}))
	if !cl.offer(pm) {
		r := cl.room
		r.mu.Lock()
		r.dropLocked(cl, ws.StatusTryAgainLater, reasonTooSlow)
		r.mu.Unlock()
	}
}

// close closes the connection for the reason the client stopped, once
// the room is done with the client. Messages still queued are dropped; one
// being written is finished first.
func (cl *client) close() {
	cl.queue.Close()
	switch {
	case cl.byPeer || cl.code == ws.StatusAbnormalClosure:
		cl.conn.CloseNow()
		return
	case isTooSlow(cl.queue.Err()):
		return // the queue closes it with 1013
	case cl.room.isClosed():
		return // the room's shutdown closes it with 1001
	}
	if err := cl.conn.Close(cl.code, cl.reason); err != nil && !errors.Is(err, net.ErrClosed) {
		cl.room.log.Debug("close", "id", cl.id, "err", err)
	}
}

// newID returns a random client id: 8 hex digits.
func newID() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
