package ws

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"

	"github.com/ab7c482b/websocket/frame"
)

var errInvalidUTF8 = &frame.ProtocolError{Code: frame.CloseInvalidPayload, Reason: "text message is not valid UTF-8"}

// Read waits for the next message and returns it whole. The returned
// slice is the only allocation and belongs to the caller.
//
// Read answers pings and handles the closing handshake while it waits, so
// an application must keep a goroutine reading for pongs, pings and close
// frames to be seen. Once the peer has closed the connection Read returns
// a *CloseError with the peer's code and reason (see CloseStatus); after a
// protocol violation by the peer it returns a *frame.ProtocolError, having
// sent the close code it names.
//
// If ctx is cancelled, Read returns ctx.Err() and the connection stays
// usable: the next Read resumes exactly where this one stopped, even in the
// middle of a frame, and returns the same message.
func (c *Conn) Read(ctx context.Context) (MessageType, []byte, error) {
	if err := c.beginRead(ctx); err != nil {
		return 0, nil, err
	}
	defer func() { <-c.readSem }()
	stop := c.watch(ctx, true)
	typ, p, err := c.readWhole()
	c.unwatch(stop, true)
	if err != nil {
		return 0, nil, c.readFailed(ctx, err)
	}
	return typ, p, nil
}

func (c *Conn) readWhole() (MessageType, []byte, error) {
	if !c.midRead {
		h, err := c.next()
		if err != nil {
			return 0, nil, err
		}
		c.midRead = true
		c.partType = MessageType(h.Opcode)
		size := int(h.Length)
		if !h.Fin {
			size = int(min(h.Length*2, 1<<16))
		}
		if c.inflating {
			// The compressed bytes are only kept until decompressed.
			c.partial = slices.Grow(c.scratch()[:0], size)
		} else {
			c.partial = make([]byte, 0, size)
		}
	}
	for {
		if len(c.partial) == cap(c.partial) && c.mr.Remaining() {
			c.partial = slices.Grow(c.partial, max(len(c.partial), 512))
		}
		buf := c.partial[len(c.partial):cap(c.partial)]
		var n int
		var err error
		if c.inflating {
			// Buffer the compressed payload, so that a cancelled Read
			// can resume, and decompress it whole at its end.
			n, err = c.mr.Read(buf)
		} else {
			n, err = c.readPayload(buf)
		}
		c.partial = c.partial[:len(c.partial)+n]
		if err == io.EOF {
			p := c.partial
			c.partial, c.midRead = nil, false
			if c.inflating {
				if p, err = c.inflateWhole(p); err != nil {
					return 0, nil, err
				}
				if _, err := c.delivered(p, io.EOF); err != io.EOF {
					return 0, nil, err
				}
			}
			return c.partType, p, nil
		}
		if err != nil {
			return 0, nil, err
		}
	}
}

// Reader waits for the next message and returns its type and a reader of
// its payload, which returns io.EOF at the message's end. The reader is
// valid until the next call to Reader or Read, which skip whatever of the
// message is left unread, and it reads with ctx. Reading a message this way
// allocates nothing. A message that a cancelled Read had begun is dropped.
func (c *Conn) Reader(ctx context.Context) (MessageType, io.Reader, error) {
	if err := c.beginRead(ctx); err != nil {
		return 0, nil, err
	}
	defer func() { <-c.readSem }()
	stop := c.watch(ctx, true)
	h, err := c.next()
	c.unwatch(stop, true)
	if err != nil {
		return 0, nil, c.readFailed(ctx, err)
	}
	c.msg.ctx = ctx
	return MessageType(h.Opcode), &c.msg, nil
}

// beginRead takes the read lock for one read, unless the connection can
// no longer be read; the caller releases readSem.
func (c *Conn) beginRead(ctx context.Context) error {
	if err := c.acquire(ctx, c.readSem); err != nil {
		return err
	}
	if c.readErr != nil {
		<-c.readSem
		return c.readErr
	}
	return nil
}

// next starts the next message.
func (c *Conn) next() (frame.Header, error) {
	limit := max(c.limit.Load(), 0)
	c.mr.Limit = limit
	if c.infl != nil {
		if err := c.skipCompressed(); err != nil {
			return frame.Header{}, err
		}
		if limit > 0 {
			// The limit is on the decompressed size (RFC 7692 §8.1
			// leaves it to us); the frame reader only sees the wire.
			c.mr.Limit = wireLimit(limit)
		}
	}
	c.midRead, c.partial, c.zbox = false, nil, nil
	if err := c.awaitInput(); err != nil {
		return frame.Header{}, err
	}
	h, err := c.mr.Next()
	if err != nil {
		return h, err
	}
	if c.infl != nil {
		c.inflating = h.Rsv&frame.Rsv1 != 0
		c.inflated, c.inLimit = 0, limit
		if !c.inflating {
			c.mr.Limit = limit
			if limit > 0 && h.Length > limit {
				return h, frame.ErrMessageTooBig
			}
		}
	}
	c.text = h.Opcode == frame.OpText
	c.utf8.Reset()
	return h, nil
}

// readPayload reads the open message's payload, checking text as it
// arrives so that invalid UTF-8 fails the connection at the first bad byte
// (RFC 6455 §8.1).
func (c *Conn) readPayload(p []byte) (int, error) {
	var n int
	var err error
	if c.inflating {
		n, err = c.inflate(p)
	} else {
		n, err = c.mr.Read(p)
	}
	return c.delivered(p[:n], err)
}

// delivered checks and counts payload p on its way to the application;
// err is the read's, io.EOF at the message's end.
func (c *Conn) delivered(p []byte, err error) (int, error) {
	if c.text {
		// On failure report no bytes, so that an io.Copy of the message
		// writes nothing that was part of the invalid text.
		if len(p) > 0 && !c.utf8.Write(p) {
			return 0, errInvalidUTF8
		}
		if err == io.EOF && !c.utf8.Done() {
			return 0, errInvalidUTF8
		}
	}
	c.stats.read(len(p), err)
	if err == io.EOF {
		c.messageEnd()
	}
	return len(p), err
}

// messageReader reads the payload of the message Reader returned.
type messageReader struct {
	c   *Conn
	ctx context.Context
}

func (r *messageReader) Read(p []byte) (int, error) { return r.read(p, false) }

// read reads into p under one hold of the read lock: once, or, with
// fill, until p is full or the message ends.
func (r *messageReader) read(p []byte, fill bool) (int, error) {
	c := r.c
	if r.ctx == nil {
		return 0, io.EOF
	}
	if err := c.beginRead(r.ctx); err != nil {
		return 0, err
	}
	defer func() { <-c.readSem }()
	if c.midRead {
		return 0, io.EOF // a Read has moved on to another message
	}
	stop := c.watch(r.ctx, true)
	var n int
	var err error
	for {
		var k int
		k, err = c.readPayload(p[n:])
		n += k
		if err != nil || !fill || n == len(p) {
			break
		}
	}
	c.unwatch(stop, true)
	if err == io.EOF {
		r.ctx = nil
	} else if err != nil {
		if c.inflating && ctxErr(r.ctx, err) != nil {
			// compress/flate cannot resume a stream that failed, so the
			// rest of this message could never be read.
			c.cause.CompareAndSwap(nil, &errInflateInterrupted)
			c.CloseNow()
		}
		err = c.readFailed(r.ctx, err)
	}
	return n, err
}

// copyBufs pools the buffers WriteTo copies through.
var copyBufs = sync.Pool{New: func() any { return new(copyBuf) }}

type copyBuf [32 << 10]byte

// WriteTo writes the rest of the message's payload to w, in pieces of up
// to 32 KiB. It makes io.Copy of a message copy through a pooled buffer,
// so an application that relays or echoes messages holds no buffer of its
// own between them and allocates nothing per message. When w is a Writer
// of this package, the message's last piece is handed to it for its Close
// to send with the final frame: a relayed message under 32 KiB leaves
// as one frame in one write.
func (r *messageReader) WriteTo(w io.Writer) (int64, error) {
	buf := copyBufs.Get().(*copyBuf)
	mw, _ := w.(*messageWriter)
	var total int64
	for {
		n, err := r.read(buf[:], true)
		if err == io.EOF && n > 0 && mw.adopt(buf, n) {
			return total + int64(n), nil
		}
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				copyBufs.Put(buf)
				return total, werr
			}
		}
		if err != nil {
			copyBufs.Put(buf)
			if err == io.EOF {
				err = nil
			}
			return total, err
		}
	}
}

var errInflateInterrupted = errors.New("ws: reading a compressed message was interrupted")

// readFailed decides what a read error means for the connection and
// returns the error for the caller.
func (c *Conn) readFailed(ctx context.Context, err error) error {
	if cerr := ctxErr(ctx, err); cerr != nil && !c.isClosed() {
		return cerr // interrupted, not failed: the next read resumes
	}
	var ce *CloseError
	var pe *frame.ProtocolError
	switch {
	case errors.As(err, &ce):
		// The peer's close frame, already answered by control.
	case errors.As(err, &pe):
		c.fail(pe.Code, pe.Reason)
	case c.isClosed():
		if pc := c.peerCloseErr(); pc != nil {
			err = pc
		} else if cause := c.cause.Load(); cause != nil {
			err = &CloseError{Code: StatusAbnormalClosure, err: *cause}
		} else {
			err = errClosed
		}
	default:
		// The transport ended or broke without a close frame.
		err = &CloseError{Code: StatusAbnormalClosure, err: wrap("ws: read: ", err)}
		c.CloseNow()
	}
	c.readErr = err
	return err
}
