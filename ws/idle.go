package ws

import (
	"bufio"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// Idle connections.
//
// A server holds many connections whose peers send nothing for minutes,
// and a read buffer each would be most of what an idle connection costs.
// So between messages, when the read buffer holds nothing, a Conn gives
// the buffer back to a pool and waits for the peer's next bytes without
// one. Waiting without a buffer needs the transport's descriptor so that
// the runtime's poller can say when it is readable: a Conn directly over
// a *net.TCPConn or *net.UnixConn does this (on Linux); over any other
// transport, TLS or a wrapper included, it keeps its buffer.
//
// The wait makes the system calls net.Conn's Read would: a read, and only
// if it finds nothing, a wait and another read. Each read lands in a
// buffer taken from a pool for the moment of the call, and what it got is
// copied into the read buffer once the Conn has one again. A Conn whose
// last read filled its buffer, which hints that more input is waiting,
// reads straight into its buffer instead.

// idler waits for a Conn's transport to be readable.
type idler struct {
	raw   syscall.RawConn
	conn  net.Conn              // the socket, for the addresses in errors
	fl    *readFlusher          // where what the wait read goes
	bufs  *sync.Pool            // *bufio.Reader of the Conn's buffer size
	lands *sync.Pool            // *[]byte of the same size, for reads while waiting
	ready func(fd uintptr) bool // readable, bound once

	// shell is an empty bufio.Reader that carries the Conn's buffer to
	// the pool: the frame reader keeps a pointer to the Conn's reader, so
	// the buffer moves in and out of that reader, not the reader itself.
	// It is nil while the buffer is away.
	shell *bufio.Reader
}

// bufPools and landPools hold a pool per buffer size.
var bufPools, landPools sync.Map // int → *sync.Pool

func poolFor(pools *sync.Map, size int, mk func() any) *sync.Pool {
	if p, ok := pools.Load(size); ok {
		return p.(*sync.Pool)
	}
	p, _ := pools.LoadOrStore(size, &sync.Pool{New: mk})
	return p.(*sync.Pool)
}

// readBuffer makes c's read buffer over c.flusher, of size bytes or the
// default: one that c gives back while idle, if c is directly over a
// socket of the standard library, comes from the pool it will go back to.
func (c *Conn) readBuffer(size int) *bufio.Reader {
	w := newIdler(c.flusher, size)
	if w == nil {
		if size <= 0 {
			size = DefaultHeldBufferSize
		}
		return bufio.NewReaderSize(c.flusher, size)
	}
	c.idle = w
	br := w.bufs.Get().(*bufio.Reader)
	br.Reset(c.flusher)
	return br
}

// newIdler returns an idler for a Conn reading through fl with a buffer of
// size bytes (0 for DefaultBufferSize), or nil if fl does not read
// straight from a socket it can wait on.
func newIdler(fl *readFlusher, size int) *idler {
	// Only the standard library's own sockets: a wrapper that embeds one
	// (counting bytes, stripping a PROXY header) offers SyscallConn too,
	// but reading its descriptor directly would bypass its Read.
	var conn interface {
		net.Conn
		syscall.Conn
	}
	switch c := fl.r.(type) {
	case *net.TCPConn:
		conn = c
	case *net.UnixConn:
		conn = c
	}
	if conn == nil || !canWaitIdle {
		return nil
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		return nil
	}
	if size <= 0 {
		size = DefaultBufferSize
	}
	w := &idler{
		raw:   raw,
		conn:  conn,
		fl:    fl,
		bufs:  poolFor(&bufPools, size, func() any { return bufio.NewReaderSize(nil, size) }),
		lands: poolFor(&landPools, size, func() any { b := make([]byte, size); return &b }),
		shell: new(bufio.Reader),
	}
	w.ready = w.readable
	return w
}

// awaitInput waits, with the read buffer given back, until the peer's
// next bytes arrive, and hands them to the read buffer's source; the
// caller holds readSem. It returns at once if the buffer holds input, or
// the last read filled it.
func (c *Conn) awaitInput() error {
	if c.idle == nil || c.br.Buffered() > 0 || c.flusher.full {
		return nil
	}
	c.flusher.flushHeld()
	w := c.idle
	w.stash(c.br)
	err := w.raw.Read(w.ready)
	w.unstash(c.br, c.flusher)
	return err
}

// stash moves br's buffer to the pool, leaving br empty. It allocates
// nothing (but what the pool rarely needs) and is not inlined, so that
// the goroutine about to wait keeps a small stack: a fresh goroutine's
// 2 KiB is enough to wait in, and a collection never shrinks a stack that
// has grown to 4 KiB while its goroutine waits this deep.
//
//go:noinline
func (w *idler) stash(br *bufio.Reader) {
	*w.shell, *br = *br, bufio.Reader{}
	w.bufs.Put(w.shell)
	w.shell = nil
}

// unstash gives br a buffer from the pool again, reading from src.
//
//go:noinline
func (w *idler) unstash(br *bufio.Reader, src io.Reader) {
	full := w.bufs.Get().(*bufio.Reader)
	*br, *full = *full, bufio.Reader{}
	w.shell = full
	br.Reset(src)
}

// readable is the RawConn.Read callback: it reads what has arrived into a
// landing buffer, which the flusher's next Read returns, and reports
// true, or reports false to wait when nothing has. The end of the stream
// and errors are kept for the reader to find.
func (w *idler) readable(fd uintptr) bool {
	land := w.lands.Get().(*[]byte)
	n, err := readFD(fd, *land)
	if err == syscall.EAGAIN {
		w.lands.Put(land)
		return false
	}
	fl := w.fl
	fl.land, fl.pending, fl.pendErr = land, (*land)[:n], nil
	switch {
	case err != nil:
		fl.pendErr = &net.OpError{Op: "read", Net: w.conn.LocalAddr().Network(),
			Source: w.conn.LocalAddr(), Addr: w.conn.RemoteAddr(), Err: os.NewSyscallError("read", err)}
	case n == 0:
		fl.pendErr = io.EOF
	}
	return true
}

// readLanded returns what an idle wait read, and gives its buffer back.
func (f *readFlusher) readLanded(p []byte) (int, error) {
	n := copy(p, f.pending)
	f.pending = f.pending[n:]
	if len(f.pending) > 0 {
		return n, nil
	}
	err := f.pendErr
	f.c.idle.lands.Put(f.land)
	f.land, f.pending, f.pendErr = nil, nil, nil
	f.full = n == len(p)
	if n > 0 && err == io.EOF {
		err = nil // the end comes with the next read
	}
	return n, err
}
