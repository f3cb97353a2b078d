package ws

import (
	"bufio"
	"sync"
)

// Between messages a connection waits for the peer on a small read buffer
// of its own, and gives its full one back to a pool: an idle connection
// then holds idleBufferSize bytes for reading instead of
// DefaultBufferSize. A message that arrives is read with a full buffer
// taken from the pool again, carrying over what the small one holds.
// This applies to connections made by Accept, Dial or NewConn without
// ConnOptions.Reader, with the default ReadBufferSize.

// idleBufferSize holds a small message whole, so that it is read with one
// syscall, as with the full buffer.
const idleBufferSize = 128

// readBufs pools read buffers of DefaultBufferSize.
var readBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, DefaultBufferSize) }}

// park switches the reader to the small buffer if the last message was
// read to its end and nothing of the next has arrived. The caller holds
// readSem.
func (c *Conn) park() {
	if !c.parkable {
		return
	}
	c.parkable = false
	if c.br.Buffered() > 0 || len(c.flusher.pre) > 0 {
		return
	}
	if c.idle == nil {
		c.idle = bufio.NewReaderSize(c.flusher, idleBufferSize)
	}
	readBufs.Put(c.br)
	c.br = c.idle
	c.mr.Switch(c.idle)
}

// unpark switches back to a full buffer once a message has begun,
// handing what the small buffer holds to the flusher, to be read first.
func (c *Conn) unpark() {
	if c.idle == nil || c.br != c.idle {
		return
	}
	if n := c.idle.Buffered(); n > 0 {
		b, _ := c.idle.Peek(n)
		c.flusher.pre = append(c.flusher.preBuf[:0], b...)
		c.idle.Discard(n)
	}
	big := readBufs.Get().(*bufio.Reader)
	big.Reset(c.flusher)
	c.br = big
	c.mr.Switch(big)
}
