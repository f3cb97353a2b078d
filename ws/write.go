package ws

import (
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/ab7c482b/websocket/frame"
)

var (
	errCloseSent    = fmt.Errorf("ws: close frame already sent: %w", errClosed)
	errBadType      = errors.New("ws: message type is neither MessageText nor MessageBinary")
	errWriterClosed = errors.New("ws: write to a closed message writer")
)

// Write sends p as one message of type typ, in a single frame. It is safe
// to call from many goroutines: each message goes out whole. Write does not
// change or keep p, and allocates nothing.
//
// If ctx is cancelled before any of the message reached the connection,
// Write returns ctx.Err() and the connection stays usable. If part of the
// frame had already been written, the peer can never make sense of the
// stream again: Write closes the connection and says so in its error.
//
// While more of the peer's messages wait unread in the connection's
// buffer, a short message may be held back briefly, to go out in one
// write with the replies to those messages: it leaves when the reader
// runs out of input, with the next frame written, at Close or CloseNow,
// and at the latest after a millisecond.
func (c *Conn) Write(ctx context.Context, typ MessageType, p []byte) error {
	op, ok := typ.opcode()
	if !ok {
		return errBadType
	}
	if err := c.acquire(ctx, c.writeSem); err != nil {
		return err
	}
	defer func() { <-c.writeSem }()
	err := c.writeMessage(ctx, op, p, nil)
	c.stats.wrote(len(p), true, err)
	return err
}

// writeMessage sends p as one message, compressed if it should be; the
// caller holds writeSem, and qw is as for send.
func (c *Conn) writeMessage(ctx context.Context, op frame.Opcode, p []byte, qw *queueWrite) error {
	if c.compressing(len(p)) {
		return c.writeCompressed(ctx, op, p, qw)
	}
	return c.send(ctx, frame.Header{Fin: true, Opcode: op}, p, nil, false, qw)
}

// Writer returns a writer for one message of type typ, sent as a run of
// fragments: writes gather in a buffer of Config.WriteBufferSize bytes,
// which goes out as a fragment when full, and a write too large for the
// buffer goes out with it as one fragment, in one vectored write; Close
// sends the last fragment. Until Close, other writers wait (control frames
// still go out between the fragments). The writer uses ctx for every
// write. Any error from it closes the connection, since the peer has an
// unfinished message (unless Close has already sent the close frame). A
// message written this way allocates nothing.
func (c *Conn) Writer(ctx context.Context, typ MessageType) (io.WriteCloser, error) {
	op, ok := typ.opcode()
	if !ok {
		return nil, errBadType
	}
	if err := c.acquire(ctx, c.writeSem); err != nil {
		return nil, err
	}
	if c.cfg.WriteBufferSize == DefaultBufferSize {
		// Borrowed until Close, so that an idle connection holds none.
		c.wbox = messageBufs.Get().(*[]byte)
		c.wbuf = *c.wbox
	} else if c.wbuf == nil {
		c.wbuf = make([]byte, 0, c.cfg.WriteBufferSize)
	}
	c.mw.ctx = ctx
	c.mw.open = true
	c.mw.op = op
	c.mw.holding = false
	switch {
	case !c.compressing(-1):
		c.mw.m.Reset(&c.mw, op, 0, c.wbuf)
	case c.cfg.CompressionThreshold > 0:
		// Hold the message's first bytes until they reach the
		// threshold: a short message goes out uncompressed.
		if c.hold == nil {
			c.hold = make([]byte, 0, c.cfg.CompressionThreshold)
		}
		c.mw.holding = true
	default:
		c.mw.compress()
	}
	return &c.mw, nil
}

// messageWriter is what Writer returns.
type messageWriter struct {
	c       *Conn
	ctx     context.Context
	m       frame.MessageWriter
	op      frame.Opcode
	open    bool
	holding bool // the message so far is in c.hold
	// lastN bytes of lastBuf are the message's last piece, handed over
	// by a reader's WriteTo in its pooled buffer, for Close to send with
	// the final frame; lastBuf is nil when there is none.
	lastN   int32
	lastBuf *copyBuf
	z       *flate.Writer // compressing the message into tail
	tail    tailWriter
}

// adopt takes buf[:n] as the message's last piece, and buf with it, if w
// is an uncompressed message writer of this package; a Write before Close
// sends it on.
func (w *messageWriter) adopt(buf *copyBuf, n int) bool {
	if w == nil || !w.open || w.holding || w.z != nil || w.lastBuf != nil {
		return false
	}
	w.lastN, w.lastBuf = int32(n), buf
	w.c.stats.wrote(n, false, nil)
	return true
}

// sendLast passes the adopted last piece on as ordinary data, when more
// follows it.
func (w *messageWriter) sendLast() error {
	_, err := w.m.Write(w.lastBuf[:w.lastN]) // copies it
	w.releaseLast()
	if err != nil {
		return w.failed(err)
	}
	return nil
}

func (w *messageWriter) releaseLast() {
	if w.lastBuf != nil {
		copyBufs.Put(w.lastBuf)
		w.lastBuf = nil
	}
}

// compress starts the message as a compressed one, sending its fragments
// through the connection's compressor.
func (w *messageWriter) compress() {
	w.m.Reset(w, w.op, frame.Rsv1, w.c.wbuf)
	w.tail = tailWriter{w: &w.m}
	w.z = w.c.defl.begin(&w.tail)
}

func (w *messageWriter) Write(p []byte) (int, error) {
	if !w.open {
		return 0, errWriterClosed
	}
	if w.lastBuf != nil {
		if err := w.sendLast(); err != nil {
			return 0, err
		}
	}
	if w.holding {
		c := w.c
		if len(c.hold)+len(p) < c.cfg.CompressionThreshold {
			c.hold = append(c.hold, p...)
			c.stats.wrote(len(p), false, nil)
			return len(p), nil
		}
		w.holding = false
		w.compress()
		_, err := w.z.Write(c.hold)
		c.hold = c.hold[:0]
		if err != nil {
			return 0, w.failed(err)
		}
	}
	var n int
	var err error
	if w.z != nil {
		n, err = w.z.Write(p)
	} else {
		n, err = w.m.Write(p)
	}
	w.c.stats.wrote(n, false, nil)
	if err != nil {
		return n, w.failed(err)
	}
	return n, nil
}

func (w *messageWriter) Close() error {
	if !w.open {
		return errWriterClosed
	}
	c := w.c
	var err error
	switch {
	case w.holding:
		// The whole message stayed below the threshold.
		w.m.Reset(w, w.op, 0, c.wbuf)
		_, err = w.m.Write(c.hold)
		c.hold = c.hold[:0]
	case w.z != nil:
		// The sync flush ends the message's deflate stream, and
		// tailWriter keeps back the tail it ends with.
		err = w.z.Flush()
		c.defl.end(w.z)
		w.z = nil
	}
	if err == nil && w.lastBuf != nil {
		err = w.m.CloseWith(w.lastBuf[:w.lastN])
	} else if err == nil {
		err = w.m.Close()
	}
	w.releaseLast()
	c.stats.wrote(0, true, err)
	if err != nil {
		err = w.failed(err)
	}
	w.open, w.ctx, w.holding = false, nil, false
	if c.wbox != nil {
		messageBufs.Put(c.wbox)
		c.wbox, c.wbuf = nil, nil
	}
	<-c.writeSem
	return err
}

// messageBufs pools Writer buffers of DefaultBufferSize.
var messageBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, DefaultBufferSize)
	return &b
}}

// failed handles an error from writing the message.
func (w *messageWriter) failed(err error) error {
	w.releaseLast()
	if w.z != nil {
		w.c.defl.end(w.z)
		w.z = nil
	}
	w.c.writerFailed(err)
	return err
}

// writerFailed closes the connection after a fragment failed: the peer
// holds an unfinished message. Once our close frame is out, though, the
// peer expects no more data and the closing handshake, which may still be
// waiting for the peer's close frame, closes the connection itself.
func (c *Conn) writerFailed(err error) {
	if !errors.Is(err, errCloseSent) {
		c.CloseNow()
	}
}

// WriteFrame sends one fragment for the frame.MessageWriter.
func (w *messageWriter) WriteFrame(h frame.Header, p []byte) error {
	return w.c.writeFrame(w.ctx, h, p)
}

// writeFrame sends one frame, taking the frame lock.
func (c *Conn) writeFrame(ctx context.Context, h frame.Header, p []byte) error {
	return c.send(ctx, h, p, nil, false, nil)
}

// WriteFrameParts sends one fragment of a followed by b, for the
// frame.MessageWriter: its buffer and the write that overflowed it.
func (w *messageWriter) WriteFrameParts(h frame.Header, a, b []byte) error {
	return w.c.send(w.ctx, h, a, b, false, nil)
}

// send writes one frame under the frame lock: h with payload p, or, if
// encoded is set, p as a frame already encoded for this connection. qw is
// nil except for a Queue's goroutine, which holds the frame lock already
// (see Queue.writeRun).
func (c *Conn) send(ctx context.Context, h frame.Header, p, p2 []byte, encoded bool, qw *queueWrite) error {
	if qw == nil {
		if err := c.acquire(ctx, c.frameSem); err != nil {
			return err
		}
		defer c.releaseFrame(ctx)
	}
	if c.closeSent {
		// RFC 6455 §5.5.1: nothing follows a close frame.
		return errCloseSent
	}
	if c.fw.Broken() {
		// An earlier write stopped mid-frame and closed the connection.
		return errClosed
	}
	if h.Opcode == frame.OpClose && !encoded {
		c.closeSent = true
	}
	if qw != nil && qw.more && c.holdFrame(h, p, p2, encoded) {
		// The queue's next frame, or its flush, carries it out before
		// it gives up the frame lock.
		return nil
	}
	if qw == nil && c.holding(h) && c.holdFrame(h, p, p2, encoded) {
		// Kept in the buffer, no write: nothing for ctx to interrupt
		// (see coalesce.go).
		c.noteHeld()
		return nil
	}
	stop := c.watch(ctx, false)
	var err error
	if encoded {
		err = c.fw.WriteEncoded(p)
	} else {
		err = c.fw.WriteFrameParts(h, p, p2)
	}
	c.unwatch(stop, false)
	if qw != nil {
		qw.wrote = true
	}
	if err != nil {
		// Sent with the frame, lost with the stream, or still held if
		// nothing went out; for now, no CloseNow below may wait to
		// flush them under the lock this call holds.
		c.heldOut.Store(false)
		if qw != nil && !c.fw.Broken() && errors.Is(err, os.ErrDeadlineExceeded) {
			return err // the queue's deadline: nothing went out
		}
		err = c.writeFailed(ctx, err)
		if qw == nil && !c.isClosed() {
			c.noteHeld() // nothing went out: the next frame carries them
		}
		return err
	}
	c.noteHeld()
	c.stats.sentFrame(h.Opcode, p)
	return nil
}

// holdFrame keeps the frame in the write buffer if it fits; the caller holds
// the frame lock.
func (c *Conn) holdFrame(h frame.Header, p, p2 []byte, encoded bool) bool {
	if encoded {
		return c.fw.HoldEncoded(p)
	}
	return c.fw.Hold(h, p, p2)
}

// writeFailed decides what a write error means for the connection.
func (c *Conn) writeFailed(ctx context.Context, err error) error {
	cerr := ctxErr(ctx, err)
	switch {
	case c.fw.Broken():
		c.CloseNow()
		if cerr != nil {
			return fmt.Errorf("ws: write interrupted mid-frame; connection closed: %w", cerr)
		}
		return wrap("ws: write failed mid-frame; connection closed: ", err)
	case cerr != nil && !c.isClosed():
		return cerr // nothing was sent: the connection is intact
	case c.isClosed():
		return errClosed
	}
	c.CloseNow()
	return wrap("ws: write: ", err)
}

// releaseFrame gives up the frame lock, first sending any pong that the
// reader queued while the lock was held. ctx, the context of the call that
// held the lock, bounds the pong's write too: if it ends first, the pong
// stays queued for the next frame out (or the next ping's answer), so a
// peer that stops reading cannot make a call outlive its context.
func (c *Conn) releaseFrame(ctx context.Context) {
	for {
		if c.pongDue.Load() && !c.flushPong(ctx) {
			<-c.frameSem
			return
		}
		<-c.frameSem
		if !c.pongDue.Load() {
			return
		}
		select {
		case c.frameSem <- struct{}{}:
		default:
			return // the new holder sends it
		}
	}
}

// queuePong answers a ping. Only the latest unanswered ping's payload is
// kept (RFC 6455 §5.5.3 allows answering just the most recent), so a peer
// that floods pings without reading cannot grow our memory, and the
// reading goroutine never waits for a writer to finish. When the frame
// lock is free the reader sends the pong itself, bounded by the read's
// context.
func (c *Conn) queuePong(p []byte) {
	c.pongMu.Lock()
	if c.pongs == nil {
		c.pongs = new(pongBufs)
	}
	c.pongN = copy(c.pongs.due[:], p)
	c.pongDue.Store(true)
	c.pongMu.Unlock()
	select {
	case c.frameSem <- struct{}{}:
		ctx := c.readerCtx()
		c.releaseFrame(ctx)
	default:
	}
}

// readerCtx returns the context of the read in progress, which bounds
// what the reading goroutine writes on its way (a pong, held replies), or
// context.Background if there is none; the caller holds readSem.
func (c *Conn) readerCtx() context.Context {
	if c.readCtx == nil {
		return context.Background()
	}
	return c.readCtx
}

// flushPong sends the queued pong; the caller holds the frame lock. It
// returns false if ctx ended before any of the pong was written: the pong
// is queued again (unless a newer ping replaced it) and the connection is
// intact. Any other failure closes the connection.
func (c *Conn) flushPong(ctx context.Context) bool {
	c.pongMu.Lock()
	pb := c.pongs
	n := copy(pb.out[:], pb.due[:c.pongN])
	c.pongDue.Store(false)
	c.pongMu.Unlock()
	if c.closeSent {
		return true
	}
	stop := c.watch(ctx, false)
	err := c.fw.WriteFrame(frame.Header{Fin: true, Opcode: frame.OpPong}, pb.out[:n])
	c.unwatch(stop, false)
	if err == nil {
		c.noteHeld() // the pong carried any held frames out
		return true
	}
	if ctxErr(ctx, err) == nil || c.fw.Broken() || c.isClosed() {
		c.heldOut.Store(false) // CloseNow must not wait for the lock this holds
		c.CloseNow()
		return true
	}
	c.noteHeld() // nothing went out: any held frames wait still
	c.pongMu.Lock()
	if !c.pongDue.Load() {
		c.pongN = copy(pb.due[:], pb.out[:n])
		c.pongDue.Store(true)
	}
	c.pongMu.Unlock()
	return false
}
