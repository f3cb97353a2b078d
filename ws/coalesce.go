package ws

import (
	"context"
	"io"
	"time"

	"github.com/ab7c482b/websocket/frame"
)

// Replies to pipelined messages.
//
// A peer that sends several messages without waiting (a pipelining
// client, a burst of chat lines) leaves them in our read buffer at once.
// Writing each reply as it is produced costs a syscall per message; the
// peer gains nothing from getting the first reply a few microseconds
// before the rest. So while the reader holds more of the peer's input
// after the message it last finished, a whole data message that fits in
// the write buffer is held there (frame.Writer.Hold), and goes
// out with the next frame that is written, or when the reader runs out of
// input and is about to wait for more, or at the latest after
// flushDelay. A peer that waits for each reply before sending the next
// message never has anything held.

// flushDelay bounds how long a reply may be held.
const flushDelay = time.Millisecond

// readFlusher is the source of a Conn's read buffer. Before it reads from
// the transport, which may wait for the peer, it sends what is held.
type readFlusher struct {
	c    *Conn
	r    io.Reader
	full bool // the last read filled the buffer: more input may wait

	// What an idle wait read (see idle.go), for the next Read: pending
	// of the pooled land, or pendErr.
	land    *[]byte
	pending []byte
	pendErr error
}

func (f *readFlusher) Read(p []byte) (int, error) {
	if f.land != nil {
		return f.readLanded(p)
	}
	f.flushHeld()
	n, err := f.r.Read(p)
	f.full = n == len(p)
	return n, err
}

// flushHeld sends the held replies, unless a writer holds the frame lock:
// its frame carries them out, or the timer does.
func (f *readFlusher) flushHeld() {
	c := f.c
	if c == nil {
		return
	}
	c.moreIn.Store(false)
	if !c.heldOut.Load() {
		return
	}
	select {
	case c.frameSem <- struct{}{}:
		ctx := c.readerCtx()
		c.flushHeld(ctx)
		c.releaseFrame(ctx)
	default:
	}
}

// messageEnd records, when the reader has finished a message, whether
// more input waits in its buffer: then replies may be held.
func (c *Conn) messageEnd() {
	if c.flusher != nil {
		c.moreIn.Store(c.br.Buffered() > 0)
	}
}

// holding reports whether a frame with header h may be held; the caller
// holds the frame lock.
func (c *Conn) holding(h frame.Header) bool {
	return c.flusher != nil && h.Fin && !h.Opcode.IsControl() && c.moreIn.Load()
}

// noteHeld records whether frames are held after a write, and makes sure
// they go out within flushDelay; the caller holds the frame lock.
func (c *Conn) noteHeld() {
	held := c.fw.Held() > 0
	c.heldOut.Store(held)
	if !held || c.flushArmed.Swap(true) {
		return
	}
	if c.flushTimer == nil {
		c.flushTimer = time.AfterFunc(flushDelay, c.timedFlush)
	} else {
		c.flushTimer.Reset(flushDelay)
	}
}

// timedFlush sends the held frames that nothing else has.
func (c *Conn) timedFlush() {
	c.flushArmed.Store(false)
	if !c.heldOut.Load() {
		return
	}
	ctx := context.Background()
	if c.acquire(ctx, c.frameSem) != nil {
		return // closed
	}
	c.flushHeld(ctx)
	c.releaseFrame(ctx)
}

// flushHeld writes the held frames; the caller holds the frame lock.
func (c *Conn) flushHeld(ctx context.Context) {
	if c.fw.Held() == 0 {
		c.heldOut.Store(false)
		return
	}
	stop := c.watch(ctx, false)
	err := c.fw.Flush()
	c.unwatch(stop, false)
	c.heldOut.Store(false)
	if err != nil {
		c.writeFailed(ctx, err)
		if !c.isClosed() {
			c.noteHeld() // nothing went out: they wait still
		}
	}
}

// flushBeforeClose sends held frames before CloseNow closes the
// transport: Write reported them written. A write in progress (the timer's
// flush, or another frame that carries them) is given the same moment to
// finish, and the peer a moment to take them.
func (c *Conn) flushBeforeClose() {
	if !c.heldOut.Load() || c.dl == nil {
		return
	}
	const grace = 100 * time.Millisecond
	c.dl.SetWriteDeadline(time.Now().Add(grace))
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case c.frameSem <- struct{}{}:
	case <-t.C:
		return
	}
	if c.fw.Held() > 0 && !c.fw.Broken() {
		c.fw.Flush()
	}
	c.heldOut.Store(false)
	<-c.frameSem
}
