package hostile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/frame"
	"github.com/ab7c482b/websocket/internal/rawws"
	"github.com/stretchr/testify/require"
)

// Deadlines. A case has caseTimeout for everything; once the raw client
// has answered the server's close and half-closed, the server must end
// the TCP connection within endWait (RFC 6455 §7.1.1: the server closes
// TCP first).
const (
	caseTimeout = 60 * time.Second
	endWait     = 5 * time.Second
)

// session is a raw client connection to a server, past the handshake.
type session struct {
	conn net.Conn
	br   *bufio.Reader
}

// open performs a valid handshake with s by hand.
func open(t *testing.T, s *instance) *session {
	t.Helper()
	conn, br, err := rawws.Dial(s.proc.Addr, s.path, s.extra, time.Now().Add(caseTimeout))
	require.NoError(t, err, "handshake")
	t.Cleanup(func() { conn.Close() })
	return &session{conn, br}
}

// send writes raw bytes.
func (s *session) send(b []byte) error {
	_, err := s.conn.Write(b)
	return err
}

// closeReply is the server's close frame.
type closeReply struct {
	code    frame.CloseCode // CloseNoStatus for an empty payload
	reason  string
	skipped int64 // payload bytes of the frames before it
}

// awaitClose reads until the server's close frame and returns it, passing
// over data frames (the chat's welcome, echoed messages) and pongs.
func (s *session) awaitClose() (closeReply, error) {
	var r closeReply
	for {
		h, err := rawws.ReadHeader(s.br)
		if err != nil {
			return r, fmt.Errorf("reading a frame header (after %d bytes of payload): %w", r.skipped, err)
		}
		if h.Masked {
			return r, fmt.Errorf("a masked frame from the server (RFC 6455 §5.1)")
		}
		if h.Opcode != frame.OpClose {
			n, err := io.CopyN(io.Discard, s.br, h.Length)
			r.skipped += n
			if err != nil {
				return r, fmt.Errorf("reading a %v payload: %w", h.Opcode, err)
			}
			continue
		}
		p := make([]byte, h.Length) // ParseHeader bounds control frames
		if _, err := io.ReadFull(s.br, p); err != nil {
			return r, fmt.Errorf("reading the close payload: %w", err)
		}
		r.code, r.reason, err = frame.ParseClose(p)
		return r, err
	}
}

// finish answers the server's close frame with code (RFC 6455 §5.5.1),
// half-closes, and waits up to endWait for the server to end the TCP
// connection. Nothing may follow the server's close frame.
func (s *session) finish(code frame.CloseCode) error {
	// The server may have closed already: the reply may fail.
	s.send(rawws.AppendFrame(nil, true, 0, frame.OpClose, frame.AppendClose(nil, code, ""), true))
	s.conn.(*net.TCPConn).CloseWrite()
	return s.awaitEnd(endWait)
}

// awaitEnd waits up to d for the server to end the connection, with
// nothing more sent.
func (s *session) awaitEnd(d time.Duration) error {
	s.conn.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	n, err := s.br.Read(b[:])
	switch {
	case n > 0:
		return fmt.Errorf("the server sent more after its close frame (RFC 6455 §5.5.1)")
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		return nil
	}
	return fmt.Errorf("the server did not end the TCP connection within %v: %w", d, err)
}

// reset closes the connection with a TCP reset instead of a FIN.
func (s *session) reset() {
	s.conn.(*net.TCPConn).SetLinger(0)
	s.conn.Close()
}

// masked is a client frame (RFC 6455 §5.3).
func masked(fin bool, rsv byte, op frame.Opcode, p string) []byte {
	return rawws.AppendFrame(nil, fin, rsv, op, []byte(p), true)
}

// header builds a masked frame header by hand, with the 7-bit length
// field len7 and the extended length ext as given, so that it can break
// the rules AppendHeader keeps (minimal lengths, the top bit).
func header(b0, len7 byte, ext ...byte) []byte {
	b := append([]byte{b0, 0x80 | len7}, ext...)
	return append(b, 0x5a, 0x3c, 0x96, 0x0f) // masking key
}

func concat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

// dialTCP opens a TCP connection to s, closed when the test ends.
func dialTCP(s *instance) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", s.proc.Addr, caseTimeout)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(caseTimeout))
	return conn, nil
}
