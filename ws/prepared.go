package ws

import (
	"context"
	"errors"
	"sync"

	"github.com/ab7c482b/websocket/frame"
)

// A PreparedMessage is a message encoded once and written to many
// connections, as a broadcast does: a server writes its frame bytes
// without encoding them again. A PreparedMessage is safe for concurrent
// use.
type PreparedMessage struct {
	op   frame.Opcode
	data []byte

	once    sync.Once
	encoded []byte // the unmasked frame, header and payload

	zonce    sync.Once
	zencoded []byte // the same, compressed on its own (RFC 7692)
}

// NewPreparedMessage copies data into a message of type typ, ready to be
// written with WritePrepared.
func NewPreparedMessage(typ MessageType, data []byte) (*PreparedMessage, error) {
	op, ok := typ.opcode()
	if !ok {
		return nil, errBadType
	}
	return &PreparedMessage{op: op, data: append([]byte(nil), data...)}, nil
}

// serverFrame returns the message as a server sends it.
func (pm *PreparedMessage) serverFrame() []byte {
	pm.once.Do(func() {
		h := frame.Header{Fin: true, Opcode: pm.op, Length: int64(len(pm.data))}
		b := make([]byte, 0, frame.MaxHeaderSize+len(pm.data))
		pm.encoded = append(frame.AppendHeader(b, h), pm.data...)
	})
	return pm.encoded
}

// compressedFrame returns the message as a server sends it compressed
// without context takeover: the same bytes serve every such connection.
// The first connection to need it chooses the level.
func (pm *PreparedMessage) compressedFrame(level int) []byte {
	pm.zonce.Do(func() {
		z := compressMessage(pm.data, level)
		h := frame.Header{Fin: true, Rsv: frame.Rsv1, Opcode: pm.op, Length: int64(len(z))}
		b := make([]byte, 0, frame.MaxHeaderSize+len(z))
		pm.zencoded = append(frame.AppendHeader(b, h), z...)
	})
	return pm.zencoded
}

var errNilPrepared = errors.New("ws: nil PreparedMessage")

// WritePrepared writes pm as Write would write its message. A server sends
// the frame encoded once for all connections, and compressed once for all
// those that compress without context takeover; a client, which must mask
// each frame with a fresh key, encodes it again.
func (c *Conn) WritePrepared(ctx context.Context, pm *PreparedMessage) error {
	if pm == nil {
		return errNilPrepared
	}
	if err := c.acquire(ctx, c.writeSem); err != nil {
		return err
	}
	defer func() { <-c.writeSem }()
	err := c.writePrepared(ctx, pm, nil)
	c.stats.wrote(len(pm.data), true, err)
	return err
}

// writePrepared sends pm; the caller holds writeSem, and qw is as for
// send.
func (c *Conn) writePrepared(ctx context.Context, pm *PreparedMessage, qw *queueWrite) error {
	h := frame.Header{Fin: true, Opcode: pm.op}
	switch {
	case c.compressing(len(pm.data)) && (c.client || c.defl.takeover):
		// Masking, or the connection's own compression context, makes
		// each connection's frame different.
		return c.writeCompressed(ctx, pm.op, pm.data, qw)
	case c.compressing(len(pm.data)):
		return c.send(ctx, h, pm.compressedFrame(c.defl.level), nil, true, qw)
	case c.client:
		return c.send(ctx, h, pm.data, nil, false, qw)
	}
	return c.send(ctx, h, pm.serverFrame(), nil, true, qw)
}
