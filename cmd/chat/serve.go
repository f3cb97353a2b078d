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
// commands it sends; its writing goroutine is the only one that writes
// its messages, from the backlog and then the queue.
type client struct {
	room  *Room
	conn  *ws.Conn
	id    string
	queue chan *ws.PreparedMessage

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
		queue:   make(chan *ws.PreparedMessage, r.cfg.Queue),
		stopped: make(chan struct{}),
		bucket:  newBucket(r.cfg.Rate, r.cfg.Burst, r.cfg.now()),
	}
	backlog, err := r.register(cl, req)
	if err != nil {
		// Otherwise the broker failed: the page tries again later.
		code, reason := ws.StatusTryAgainLater, reasonDown
		var reset *ResetError
		switch {
		case errors.Is(err, errRoomClosed):
			code, reason = ws.StatusGoingAway, reasonShutdown
		case errors.Is(err, errRoomFull):
			reason = reasonFull
		case errors.As(err, &reset):
			reason = reasonReset
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
	wg.Go(func() { cl.write(backlog) })
	wg.Go(cl.read)
	<-cl.stopped

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
	wg.Wait()

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

// offer queues pm without waiting and reports whether it fit.
func (cl *client) offer(pm *ws.PreparedMessage) bool {
	select {
	case cl.queue <- pm:
		return true
	default:
		return false
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

// write sends the backlog and then the queue, one message at a time,
// until the client is stopped; then it closes the connection.
func (cl *client) write(backlog []*ws.PreparedMessage) {
	for _, pm := range backlog {
		if cl.isStopped() {
			break
		}
		if err := cl.send(pm); err != nil {
			cl.writeFailed(err)
			return
		}
	}
	for {
		// Once stopped, send nothing more even if the queue has some.
		if cl.isStopped() {
			cl.close()
			return
		}
		select {
		case pm := <-cl.queue:
			if err := cl.send(pm); err != nil {
				cl.writeFailed(err)
				return
			}
		case <-cl.stopped:
		}
	}
}

func (cl *client) send(pm *ws.PreparedMessage) error {
	ctx, cancel := context.WithTimeout(context.Background(), cl.room.cfg.WriteTimeout)
	defer cancel()
	return cl.conn.WritePrepared(ctx, pm)
}

func (cl *client) writeFailed(err error) {
	switch {
	case cl.isStopped():
		// The connection was closed under the write.
		cl.conn.CloseNow()
	case errors.Is(err, context.DeadlineExceeded):
		// A client that does not take one message within the write
		// timeout is too slow. If none of the message went out, Close
		// can still tell it why.
		cl.stop(ws.StatusTryAgainLater, reasonTooSlow, false)
		cl.close()
	default:
		cl.room.log.Warn("write failed", "id", cl.id, "err", err)
		cl.stop(ws.StatusAbnormalClosure, "write failed", false)
		cl.conn.CloseNow()
	}
}

// close closes the connection for the reason the client stopped.
func (cl *client) close() {
	if cl.byPeer || cl.code == ws.StatusAbnormalClosure {
		cl.conn.CloseNow()
		return
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
