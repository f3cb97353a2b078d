package ws

import (
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/ab7c482b/websocket/frame"
	"github.com/ab7c482b/websocket/handshake"
)

// setupDeflate turns on permessage-deflate if the handshake agreed it.
func (c *Conn) setupDeflate(exts []handshake.Extension) {
	mode := c.cfg.Compression
	if mode == CompressionDisabled {
		return
	}
	p, ok, err := agreedDeflate(exts, c.client)
	if !ok || err != nil {
		return
	}
	level := c.cfg.CompressionLevel
	if level < flate.HuffmanOnly || level > flate.BestCompression {
		level = 0
	}
	// A peer may let us keep context, but in the default mode we compress
	// each message on its own anyway: that is always allowed (RFC 7692
	// §7.1.1), and it keeps no compressor on an idle connection.
	takeover := p.outTakeover && mode == CompressionContextTakeover
	if p.narrow() {
		level = flate.HuffmanOnly
	}
	if level == 0 {
		level = flate.BestSpeed
		if takeover {
			level = 2
		}
	}
	if c.cfg.CompressionThreshold == 0 {
		c.cfg.CompressionThreshold = DefaultCompressionThreshold
	}
	c.defl = &deflater{level: level, takeover: takeover}
	c.infl = &inflater{takeover: p.inTakeover}
	c.mr.Rsv = frame.Rsv1
}

// Compressed reports whether the handshake agreed permessage-deflate, so
// that messages may be compressed in either direction.
func (c *Conn) Compressed() bool { return c.defl != nil }

// SetCompression turns compression of outgoing messages off or back on,
// from the next message written; it does nothing on a connection without
// permessage-deflate. Incoming compressed messages are read either way.
// It is safe to call at any time, for example before writing data that is
// already compressed.
func (c *Conn) SetCompression(on bool) { c.noDeflate.Store(!on) }

// compressing reports whether a message of n bytes (or of unknown size,
// n < 0, for a Writer) is to be compressed. The caller holds writeSem.
func (c *Conn) compressing(n int) bool {
	if c.defl == nil || c.noDeflate.Load() {
		return false
	}
	return n < 0 || n >= c.cfg.CompressionThreshold
}

var errWriteAfterContext = errors.New("ws: compressed write did not complete; with context takeover the connection cannot go on")

// writeCompressed sends p as one compressed message. The caller holds
// writeSem.
func (c *Conn) writeCompressed(ctx context.Context, op frame.Opcode, p []byte, qw *queueWrite) error {
	z := c.defl.compress(p)
	err := c.send(ctx, frame.Header{Fin: true, Opcode: op, Rsv: frame.Rsv1}, z, nil, false, qw)
	c.defl.release()
	if err != nil && c.defl.takeover && !c.isClosed() {
		// The compressor's context now holds a message the peer never
		// got, so the next one could refer to bytes it does not have.
		c.CloseNow()
		return fmt.Errorf("%w: %w", errWriteAfterContext, err)
	}
	return err
}

// rawReader reads the compressed payload of the open message, for the
// decompressor.
type rawReader struct{ c *Conn }

func (r *rawReader) Read(p []byte) (int, error) { return r.c.mr.Read(p) }

// inflate reads the open compressed message's payload, decompressed and
// within the read limit.
func (c *Conn) inflate(p []byte) (int, error) {
	if c.infl.fr == nil {
		c.infl.start(&c.raw)
	}
	n, err := c.infl.read(p)
	c.inflated += int64(n)
	if c.inLimit > 0 && c.inflated > c.inLimit {
		c.infl.finish()
		return 0, frame.ErrMessageTooBig
	}
	if err == io.EOF {
		c.inflating = false
	}
	return n, err
}

// inflateWhole decompresses a whole message that Read has buffered in
// scratch space, into a new slice of exactly its size.
func (c *Conn) inflateWhole(z []byte) ([]byte, error) {
	out := scratchBufs.Get()
	if out == nil {
		out = new([]byte)
	}
	b := out.(*[]byte)
	p, err := c.infl.inflateAll((*b)[:0], z, c.inLimit)
	c.inflating = false
	if err == nil {
		*b = p
		p = append(make([]byte, 0, len(p)), p...)
	}
	putScratch(b)
	if c.zbox != nil {
		*c.zbox = z
		putScratch(c.zbox)
		c.zbox = nil
	}
	return p, err
}

// scratchBufs pools the buffers that compressed messages are read into
// and decompressed in, as *[]byte so that a Put allocates nothing.
var scratchBufs sync.Pool

// maxScratch is the largest scratch buffer kept for reuse.
const maxScratch = 4 << 20

// scratch takes a scratch buffer for a compressed message that Read
// buffers; inflateWhole gives it back.
func (c *Conn) scratch() []byte {
	if v := scratchBufs.Get(); v != nil {
		c.zbox = v.(*[]byte)
	} else {
		c.zbox = new([]byte)
	}
	return *c.zbox
}

func putScratch(b *[]byte) {
	if b == nil {
		return
	}
	if cap(*b) > maxScratch {
		*b = nil
	}
	*b = (*b)[:0]
	scratchBufs.Put(b)
}

// skipCompressed ends the open compressed message before the next one.
// With context takeover the peer's next message may refer back to this
// one, so the rest of it is decompressed, not skipped.
func (c *Conn) skipCompressed() error {
	if !c.inflating {
		return nil
	}
	if c.infl.takeover {
		if c.midRead {
			_, _, err := c.readWhole()
			return err
		}
		var buf [512]byte
		for {
			_, err := c.inflate(buf[:])
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	c.infl.finish()
	c.inflating = false
	return nil
}

// wireLimit bounds the compressed size of a message whose decompressed
// size is bounded by limit: deflate's stored blocks add 5 bytes per 64 KiB
// to data that does not compress.
func wireLimit(limit int64) int64 {
	return limit + limit>>12 + 1024
}
