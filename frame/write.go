package frame

import (
	crand "crypto/rand"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
)

// DefaultBufferSize is the size of a Writer's buffer when Reset is given
// 0. The buffer is borrowed from a pool while a frame is written, so its
// size costs an idle connection nothing.
const DefaultBufferSize = 16 << 10

// A Writer writes frames to a stream. As a client's writer it masks every
// frame with a fresh key from a ChaCha8 stream seeded by crypto/rand
// (RFC 6455 §5.3 requires keys a peer cannot predict), copying the payload
// into its buffer as it masks, so the caller's slice is never changed.
// As a server's writer it copies small payloads behind the header and
// writes large ones straight from the caller's slice with one vectored
// write (writev on a TCP connection).
//
// A Writer is not safe for concurrent use.
type Writer struct {
	w      io.Writer
	mask   bool
	size   int
	buf    []byte // a buffer of a size other than the default, once used
	vec    [3][]byte
	bufs   net.Buffers
	rng    *rand.ChaCha8
	broken bool
	box    *[]byte // the pooled buffer, while frames are held in it
	held   int     // bytes of whole frames Hold kept in the buffer
}

// writeBufs pools buffers of DefaultBufferSize. A Writer holds one only
// while it writes a frame, so that an idle connection holds none.
var writeBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, DefaultBufferSize)
	return &b
}}

// Reset makes fw write to w, masking frames if mask is true, with a buffer
// of size bytes (0 means DefaultBufferSize; never below MaxHeaderSize+1).
// A buffer of the default size is borrowed from a pool for each frame;
// one of another size is allocated on first use and kept.
func (fw *Writer) Reset(w io.Writer, mask bool, size int) {
	if size <= 0 {
		size = DefaultBufferSize
	}
	size = max(size, MaxHeaderSize+1)
	if cap(fw.buf) != size {
		fw.buf = nil
	}
	fw.release()
	fw.w, fw.mask, fw.size, fw.broken = w, mask, size, false
}

// Broken reports whether a write failed after part of a frame reached the
// stream. The peer then holds a truncated frame, and the stream is
// unusable for further frames.
func (fw *Writer) Broken() bool { return fw.broken }

// WriteFrame writes one frame with header h and the given payload. It sets
// h.Length from the payload and, for a masking writer, h.Masked and h.Mask.
// On error, Broken says whether part of the frame was written.
func (fw *Writer) WriteFrame(h Header, payload []byte) error {
	return fw.WriteFrameParts(h, payload, nil)
}

// WriteFrameParts writes one frame whose payload is a followed by b, as
// WriteFrame would write their concatenation, without copying them
// together first: a MessageWriter sends its buffered bytes and a large
// write as one frame this way.
func (fw *Writer) WriteFrameParts(h Header, a, b []byte) error {
	if fw.broken {
		return errBroken
	}
	buf := fw.buffer()
	if fw.held > 0 && cap(buf)-len(buf) < MaxHeaderSize {
		// No room for another header: send what is held first.
		if err := fw.Flush(); err != nil {
			return err
		}
		buf = fw.buffer()
	}
	return fw.done(fw.writeFrame(h, a, b, buf))
}

// done ends a write that carried the held frames: they are gone, sent or
// lost with a broken stream, unless it failed before writing a byte.
func (fw *Writer) done(err error) error {
	if err != nil && !fw.broken {
		return err // nothing went out: the held frames still wait
	}
	fw.release()
	return err
}

// Hold keeps the frame WriteFrameParts would write in the buffer, after
// any held before, if it fits in what is left, and reports whether it
// did; it never writes. Held frames go out, in order, with the next frame
// that is written, or with Flush: a server answering several pipelined
// messages sends its replies in one write. Held reports what waits. A
// write that fails before any byte of it went out keeps them held.
func (fw *Writer) Hold(h Header, a, b []byte) bool {
	buf, ok := fw.room(MaxHeaderSize + len(a) + len(b))
	if ok {
		fw.held = len(fw.appendFrame(buf, h, a, b))
	}
	return ok
}

// HoldEncoded keeps b, whole frames encoded beforehand, in the buffer as
// Hold keeps a frame: a broadcast's prepared frames, queued for one
// connection, go out together.
func (fw *Writer) HoldEncoded(b []byte) bool {
	buf, ok := fw.room(len(b))
	if ok {
		fw.held = len(append(buf, b...))
	}
	return ok
}

// room returns the buffer, with the held frames in it, if n more bytes
// fit behind them.
func (fw *Writer) room(n int) ([]byte, bool) {
	if fw.broken {
		return nil, false
	}
	buf := fw.buffer()
	if n > cap(buf)-len(buf) {
		if fw.held == 0 {
			fw.release()
		}
		return nil, false
	}
	return buf, true
}

// Held returns the bytes of the frames Hold kept.
func (fw *Writer) Held() int { return fw.held }

// Flush writes the frames Hold kept. If it fails after writing part of
// them, they are lost and the stream is broken; if it fails before
// writing any, they stay held and the stream is intact.
func (fw *Writer) Flush() error {
	if fw.held == 0 {
		return nil
	}
	if fw.broken {
		return errBroken
	}
	n, err := fw.w.Write(fw.buffer())
	if err == nil && n < fw.held {
		err = io.ErrShortWrite
	}
	if err != nil && n > 0 {
		fw.broken = true
	}
	return fw.done(err)
}

// buffer returns the buffer with the held frames in it.
func (fw *Writer) buffer() []byte {
	if fw.size != DefaultBufferSize {
		if fw.buf == nil {
			fw.buf = make([]byte, 0, fw.size)
		}
		return fw.buf[:fw.held]
	}
	if fw.box == nil {
		fw.box = writeBufs.Get().(*[]byte)
	}
	return (*fw.box)[:fw.held]
}

// release empties the buffer and, if it is the pool's, gives it back.
func (fw *Writer) release() {
	fw.held = 0
	if fw.box != nil {
		writeBufs.Put(fw.box)
		fw.box = nil
	}
}

// appendFrame appends the frame, masked if fw masks, to buf.
func (fw *Writer) appendFrame(buf []byte, h Header, a, b []byte) []byte {
	h.Length = int64(len(a) + len(b))
	h.Masked = fw.mask
	if fw.mask {
		fw.newKey(&h.Mask)
	}
	buf = AppendHeader(buf, h)
	start := len(buf)
	buf = append(append(buf, a...), b...)
	if fw.mask {
		Mask(h.Mask, 0, buf[start:])
	}
	return buf
}

// writeFrame writes buf, held frames or none, and then the frame; buf's
// capacity is fw.size.
func (fw *Writer) writeFrame(h Header, a, b []byte, buf []byte) error {
	h.Length = int64(len(a) + len(b))
	h.Masked = fw.mask
	if fw.mask {
		fw.newKey(&h.Mask)
	}
	buf = AppendHeader(buf, h)
	if !fw.mask {
		if int(h.Length) <= cap(buf)-len(buf) {
			return fw.write(append(append(buf, a...), b...), 0)
		}
		// One vectored write (writev on a TCP connection) of the header
		// and the payload where it lies.
		return fw.writev(buf, a, b)
	}
	// A client copies the payload into buf as it masks it (the caller's
	// slices are never changed), and writes buf each time it fills.
	pos, sent := 0, 0
	for {
		for _, part := range [2]*[]byte{&a, &b} {
			k := min(len(*part), cap(buf)-len(buf))
			start := len(buf)
			buf = append(buf, (*part)[:k]...)
			pos = Mask(h.Mask, pos, buf[start:])
			*part = (*part)[k:]
		}
		if err := fw.write(buf, sent); err != nil {
			return err
		}
		if len(a)+len(b) == 0 {
			return nil
		}
		sent += len(buf)
		buf = buf[:0]
	}
}

// writev writes the parts with one vectored write (writev on a TCP
// connection).
func (fw *Writer) writev(parts ...[]byte) error {
	fw.bufs = fw.vec[:0]
	for _, part := range parts {
		if len(part) > 0 { // some writers, net.Pipe's, block on an empty write
			fw.bufs = append(fw.bufs, part)
		}
	}
	n, err := fw.bufs.WriteTo(fw.w)
	fw.vec = [3][]byte{}
	if err != nil && n > 0 {
		fw.broken = true
	}
	return err
}

var errBroken = errors.New("frame: stream broken by an earlier partial write")

// write writes b, the part of a frame after the first sent bytes.
func (fw *Writer) write(b []byte, sent int) error {
	n, err := fw.w.Write(b)
	if err != nil && sent+n > 0 {
		fw.broken = true
	}
	return err
}

func (fw *Writer) newKey(key *[4]byte) {
	if fw.rng == nil {
		var seed [32]byte
		crand.Read(seed[:]) // never fails (crypto/rand, Go 1.24+)
		fw.rng = rand.NewChaCha8(seed)
	}
	v := uint32(fw.rng.Uint64())
	key[0], key[1], key[2], key[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// A FrameWriter writes one frame; Writer is one, and so is anything that
// adds locking or deadlines around it.
type FrameWriter interface {
	WriteFrame(h Header, payload []byte) error
}

var errWriterClosed = errors.New("frame: write to a closed message")

// A MessageWriter sends one message as a run of frames (RFC 6455 §5.4):
// the first frame carries the opcode and RSV bits, the rest are
// continuations, and Close sends the last with FIN set. It gathers
// writes in its buffer and sends each full buffer as a frame; the part of
// a write too large for the buffer goes out with it in the same frame,
// straight from the caller's slice. A frame is thus no longer than the
// buffer unless one write was.
//
// A MessageWriter is not safe for concurrent use.
type MessageWriter struct {
	w       FrameWriter
	op      Opcode
	rsv     byte
	buf     []byte
	started bool
	closed  bool
}

// Reset starts a new message of type op on w, with rsv set on its first
// frame. buf's capacity is the largest payload of any frame but the last;
// a buffer of capacity 0 sends each Write as a frame. buf's contents are
// overwritten.
func (mw *MessageWriter) Reset(w FrameWriter, op Opcode, rsv byte, buf []byte) {
	*mw = MessageWriter{w: w, op: op, rsv: rsv, buf: buf[:0]}
}

// Write buffers p, sending the buffer as a frame when it is full. When
// what overflows the buffer would not fit in it either, all of it but a
// last buffer-full goes out at once with the full buffer as one frame: a
// large write costs one frame (and, to a Writer, one vectored write), not
// one per buffer. The buffer-full kept back makes the last frame, which
// Close sends, carry data: a reader that stops after the message's last
// byte has then seen its end.
func (mw *MessageWriter) Write(p []byte) (int, error) {
	if mw.closed {
		return 0, errWriterClosed
	}
	if len(mw.buf)+len(p) <= cap(mw.buf) {
		mw.buf = append(mw.buf, p...)
		return len(p), nil
	}
	k := copy(mw.buf[len(mw.buf):cap(mw.buf)], p)
	mw.buf = mw.buf[:len(mw.buf)+k]
	rest := p[k:]
	if len(rest) <= cap(mw.buf) {
		if err := mw.send(mw.buf, false); err != nil {
			return 0, err
		}
		mw.buf = append(mw.buf[:0], rest...)
		return len(p), nil
	}
	keep := len(rest) - cap(mw.buf)
	if err := mw.sendParts(mw.buf, rest[:keep], false); err != nil {
		return 0, err
	}
	mw.buf = append(mw.buf[:0], rest[keep:]...)
	return len(p), nil
}

// Flush sends what is buffered as a frame that is not the last, so the
// peer sees it now. It does nothing when nothing is buffered.
func (mw *MessageWriter) Flush() error {
	if mw.closed {
		return errWriterClosed
	}
	if len(mw.buf) == 0 {
		return nil
	}
	err := mw.send(mw.buf, false)
	mw.buf = mw.buf[:0]
	return err
}

// Close sends what is buffered as the final frame of the message.
func (mw *MessageWriter) Close() error { return mw.CloseWith(nil) }

// CloseWith sends what is buffered followed by p as the final frame of
// the message, in one vectored write to a PartsWriter: Write(p) and Close
// in one frame, without copying p into the buffer.
func (mw *MessageWriter) CloseWith(p []byte) error {
	if mw.closed {
		return errWriterClosed
	}
	mw.closed = true
	err := mw.sendParts(mw.buf, p, true)
	mw.buf = mw.buf[:0]
	return err
}

func (mw *MessageWriter) send(p []byte, fin bool) error {
	return mw.sendParts(p, nil, fin)
}

// sendParts sends one frame of a followed by b.
func (mw *MessageWriter) sendParts(a, b []byte, fin bool) error {
	h := Header{Fin: fin, Opcode: OpContinuation}
	if !mw.started {
		h.Opcode, h.Rsv = mw.op, mw.rsv
		mw.started = true
	}
	if pw, ok := mw.w.(PartsWriter); ok {
		return pw.WriteFrameParts(h, a, b)
	}
	if len(a) == 0 {
		return mw.w.WriteFrame(h, b)
	}
	// Without WriteFrameParts, a and b go as two frames.
	last := h.Fin
	h.Fin = last && len(b) == 0
	if err := mw.w.WriteFrame(h, a); err != nil || len(b) == 0 {
		return err
	}
	return mw.w.WriteFrame(Header{Fin: last, Opcode: OpContinuation}, b)
}

// A PartsWriter writes one frame whose payload is a followed by b;
// Writer is one. A MessageWriter whose FrameWriter is also a PartsWriter
// sends its buffer and a large write as one frame.
type PartsWriter interface {
	WriteFrameParts(h Header, a, b []byte) error
}

// WriteEncoded writes b, one or more whole frames encoded beforehand, such
// as a broadcast message encoded once for many connections, behind any
// held frames in the same write. Broken reports a partial write as for
// WriteFrame.
func (fw *Writer) WriteEncoded(b []byte) error {
	if fw.broken {
		return errBroken
	}
	if fw.held == 0 {
		return fw.write(b, 0)
	}
	buf := fw.buffer()
	if len(b) <= cap(buf)-len(buf) {
		return fw.done(fw.write(append(buf, b...), 0))
	}
	return fw.done(fw.writev(buf, b))
}
