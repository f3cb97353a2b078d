package ws

import (
	"bufio"
	"io"
	"sync"
	"syscall"
)

// Idle connections.
//
// A server holds many connections whose peers send nothing for minutes,
// and a read buffer each would be most of what an idle connection costs.
// So between messages, when the read buffer holds nothing, a Conn gives
// the buffer back to a pool and waits for the peer's next bytes without
// one, then takes a buffer from the pool to read them. Waiting without a
// buffer needs the transport's descriptor (syscall.Conn, as *net.TCPConn
// and *net.UnixConn offer) so that the runtime's poller can say when it
// is readable; on other transports a Conn keeps its buffer.
//
// Waiting costs what net.Conn's Read costs: a read that finds nothing
// (here a non-blocking peek at one byte) and a wait. Only when the bytes
// are already there is the peek an extra system call, so a Conn whose
// last read filled its buffer, which hints that more is waiting, reads
// again at once.

// bufPools holds a pool of *bufio.Reader per buffer size.
var bufPools sync.Map // int → *sync.Pool

func readBufPool(size int) *sync.Pool {
	if p, ok := bufPools.Load(size); ok {
		return p.(*sync.Pool)
	}
	p, _ := bufPools.LoadOrStore(size, &sync.Pool{New: func() any { return bufio.NewReaderSize(nil, size) }})
	return p.(*sync.Pool)
}

// idler waits for a Conn's transport to be readable.
type idler struct {
	raw    syscall.RawConn
	pool   *sync.Pool // *bufio.Reader of the Conn's buffer size
	peeked bool
	ready  func(fd uintptr) bool // readable, bound once

	// shell is an empty bufio.Reader that carries the Conn's buffer to
	// the pool: the frame reader keeps a pointer to the Conn's reader, so
	// the buffer moves in and out of that reader, not the reader itself.
	// It is nil while the buffer is away.
	shell *bufio.Reader
}

// setupIdle lets c give its read buffer back while idle, if its reader is
// its own and the transport has a descriptor to wait on.
func (c *Conn) setupIdle(size int) {
	sc, ok := c.flusher.r.(syscall.Conn)
	if !ok || !canPeek {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	c.idle = &idler{raw: raw, pool: readBufPool(size), shell: new(bufio.Reader)}
	c.idle.ready = c.idle.readable
}

// awaitInput waits, with the read buffer given back, until the peer's
// next bytes arrive; the caller holds readSem. It returns at once if the
// buffer holds input, or the last read filled it.
func (c *Conn) awaitInput() error {
	if c.idle == nil || c.br.Buffered() > 0 || c.flusher.full {
		return nil
	}
	c.flusher.flushHeld()
	c.idle.stash(c.br)
	c.idle.peeked = false
	err := c.idle.raw.Read(c.idle.ready)
	c.idle.unstash(c.br, c.flusher)
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
	w.pool.Put(w.shell)
	w.shell = nil
}

// unstash gives br a buffer from the pool again, reading from src.
//
//go:noinline
func (w *idler) unstash(br *bufio.Reader, src io.Reader) {
	full := w.pool.Get().(*bufio.Reader)
	*br, *full = *full, bufio.Reader{}
	w.shell = full
	br.Reset(src)
}

// readable is the RawConn.Read callback: true once the transport has
// input (or an error or end of stream for the next read to find), false
// to wait. After a wait it trusts the poller and does not peek again: a
// read that still finds nothing waits in the transport's Read.
func (w *idler) readable(fd uintptr) bool {
	if w.peeked {
		return true
	}
	w.peeked = true
	return !wouldBlock(fd)
}
