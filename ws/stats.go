package ws

import (
	"encoding/binary"
	"io"
	"sync/atomic"
	"time"

	"github.com/ab7c482b/websocket/frame"
)

// Stats is a snapshot of a connection's counters, for metrics.
//
// Messages and bytes count data messages (text and binary) as the
// application passes them to Write, Writer and WritePrepared and takes
// them from Read and Reader: payload bytes only, before any compression on
// the way out and after it on the way in. Frame headers, masks and control
// frames are not counted. A message counts once it is whole: when its
// write returned without error, or when its last byte was read. Bytes count
// as they pass, so a message cut short adds its bytes but not itself.
type Stats struct {
	// MessagesIn and BytesIn count the data messages read and their
	// payload bytes.
	MessagesIn, BytesIn int64
	// MessagesOut and BytesOut count the data messages written and their
	// payload bytes.
	MessagesOut, BytesOut int64
	// RTT is the round-trip time of the latest answered Ping or keepalive
	// ping, or 0 if none was (see Conn.RTT).
	RTT time.Duration
	// CloseSent is the code of the close frame this end sent, or 0 if it
	// sent none; StatusNoStatus means one without a code (RFC 6455
	// §7.1.5).
	CloseSent StatusCode
	// CloseReceived is the code of the peer's close frame, or 0 if none
	// has arrived; StatusNoStatus means one without a code.
	CloseReceived StatusCode
}

// Stats returns the connection's counters. It is safe to call at any
// time from any goroutine, during and after the connection's life; each
// field is read atomically, but the fields are not read at one instant,
// so a message in flight may show in its bytes and not yet in its count.
func (c *Conn) Stats() Stats {
	s := Stats{
		MessagesIn:  c.stats.msgsIn.Load(),
		BytesIn:     c.stats.bytesIn.Load(),
		MessagesOut: c.stats.msgsOut.Load(),
		BytesOut:    c.stats.bytesOut.Load(),
		RTT:         c.RTT(),
		CloseSent:   StatusCode(c.stats.closeSent.Load()),
	}
	if pc := c.peerCloseErr(); pc != nil {
		s.CloseReceived = pc.Code
	}
	return s
}

// connStats holds a Conn's counters. Each is updated with one atomic add
// where a message's bytes pass, so counting costs no lock and no
// allocation.
type connStats struct {
	msgsIn, bytesIn   atomic.Int64
	msgsOut, bytesOut atomic.Int64
	closeSent         atomic.Uint32
}

// read counts n payload bytes read, and a whole message when err is io.EOF.
func (s *connStats) read(n int, err error) {
	if n > 0 {
		s.bytesIn.Add(int64(n))
	}
	if err == io.EOF {
		s.msgsIn.Add(1)
	}
}

// wrote counts n payload bytes written, and a whole message if end is set
// and err is nil.
func (s *connStats) wrote(n int, end bool, err error) {
	if err != nil {
		return
	}
	if n > 0 {
		s.bytesOut.Add(int64(n))
	}
	if end {
		s.msgsOut.Add(1)
	}
}

// sentFrame records the code of a close frame with payload p once it is
// written.
func (s *connStats) sentFrame(op frame.Opcode, p []byte) {
	if op != frame.OpClose {
		return
	}
	code := StatusNoStatus
	if len(p) >= 2 {
		code = StatusCode(binary.BigEndian.Uint16(p))
	}
	s.closeSent.Store(uint32(code))
}
