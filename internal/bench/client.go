package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"
)

// The load generator speaks just enough WebSocket to drive the servers:
// a fixed handshake, client frames masked once per payload size, and
// replies parsed from a bufio.Reader without copying payloads. It offers
// permessage-deflate only to servers started for the compression suite
// (target.comp), and then sends messages compressed once, ahead of time,
// and counts the compressed replies without inflating them.

// clientKey is the Sec-WebSocket-Key of every handshake, and clientAccept
// the answer RFC 6455 §1.3 gives for it. A fixed key costs the client
// nothing and still proves that the server computed the answer.
const (
	clientKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	clientAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// maskKey masks every client frame. RFC 6455 §5.3 wants a fresh key per
// frame against proxy cache poisoning; a benchmark over loopback has no
// proxy, and a fixed key lets each frame be masked once.
var maskKey = [4]byte{0x5a, 0xc3, 0x1e, 0x77}

// payload returns n bytes of a fixed pattern, so that replies can be
// checked.
func payload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*31 + i>>8)
	}
	return p
}

// appendFrameHeader appends a FIN binary frame header for n payload bytes,
// masked with maskKey if masked.
func appendFrameHeader(b []byte, n int, masked bool) []byte {
	var m byte
	if masked {
		m = 0x80
	}
	b = append(b, 0x82)
	switch {
	case n <= 125:
		b = append(b, m|byte(n))
	case n <= 0xffff:
		b = append(b, m|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if masked {
		b = append(b, maskKey[:]...)
	}
	return b
}

// clientFrame returns p as a masked binary frame, as a client sends it.
func clientFrame(p []byte) []byte {
	b := appendFrameHeader(make([]byte, 0, 14+len(p)), len(p), true)
	h := len(b)
	b = append(b, p...)
	for i := range p {
		b[h+i] ^= maskKey[i&3]
	}
	return b
}

// serverFrame returns p as an unmasked binary frame, as a server sends it.
func serverFrame(p []byte) []byte {
	return append(appendFrameHeader(make([]byte, 0, 10+len(p)), len(p), false), p...)
}

// A target is a running server as the load generator sees it.
type target struct {
	name string
	addr string // 127.0.0.1:port
	raw  bool   // no WebSocket: no handshake, and replies are the bytes sent
	comp string // the compression mode offered; compNone for none
}

// sources are the local addresses connections are made from, in turn, so
// that tens of thousands of connections to one port never run out of
// ephemeral ports. All are loopback.
var sources = func() []*net.TCPAddr {
	s := make([]*net.TCPAddr, 8)
	for i := range s {
		s[i] = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(i+1))}
	}
	return s
}()

var nextSource atomic.Uint32

// request returns the handshake request for path on t, offering
// permessage-deflate as t.comp asks.
func request(t target, path string) []byte {
	ext := ""
	if o := offer(t.comp); o != "" {
		ext = "Sec-WebSocket-Extensions: " + o + "\r\n"
	}
	return []byte("GET " + path + " HTTP/1.1\r\n" +
		"Host: " + t.addr + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + clientKey + "\r\n" +
		ext +
		"Sec-WebSocket-Version: 13\r\n\r\n")
}

// dial connects to t from the next source address and, unless t is raw,
// completes the opening handshake with req (from request). The returned
// reader holds anything the server sent after its response. Closing the
// connection resets it, so that no TIME_WAIT state piles up.
func dial(ctx context.Context, t target, req []byte, bufSize int) (*net.TCPConn, *bufio.Reader, error) {
	d := net.Dialer{
		Timeout:   10 * time.Second,
		LocalAddr: sources[int(nextSource.Add(1))%len(sources)],
	}
	c, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, nil, err
	}
	conn := c.(*net.TCPConn)
	conn.SetLinger(0)
	br := bufio.NewReaderSize(conn, bufSize)
	if t.raw {
		return conn, br, nil
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := handshake(conn, br, req, t.comp); err != nil {
		conn.Close()
		return nil, nil, err
	}
	conn.SetDeadline(time.Time{})
	return conn, br, nil
}

var errHandshake = errors.New("bench: bad handshake response")

// handshake sends req and checks the server's answer (RFC 6455 §4.1):
// 101, the accept key for clientKey, and no extension if comp offered
// none, or else permessage-deflate as checkAgreed accepts it.
func handshake(w io.Writer, br *bufio.Reader, req []byte, comp string) error {
	if _, err := w.Write(req); err != nil {
		return err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("read status: %w", err)
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 101 ")) {
		return fmt.Errorf("%w: %q", errHandshake, strings.TrimSpace(string(line)))
	}
	accepted, deflate := false, false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("read header: %w", err)
		}
		if len(line) <= 2 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return fmt.Errorf("%w: header %q", errHandshake, line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Accept")):
			if string(value) != clientAccept {
				return fmt.Errorf("%w: accept %q", errHandshake, value)
			}
			accepted = true
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Extensions")):
			if comp == compNone || deflate {
				return fmt.Errorf("%w: extension %q not offered", errHandshake, value)
			}
			if err := checkAgreed(comp, value); err != nil {
				return err
			}
			deflate = true
		}
	}
	if !accepted {
		return fmt.Errorf("%w: no Sec-WebSocket-Accept", errHandshake)
	}
	if comp != compNone && !deflate {
		return fmt.Errorf("%w: permessage-deflate (%s) offered but not agreed", errHandshake, comp)
	}
	return nil
}

var (
	errServerClose = errors.New("bench: server sent a close frame")
	errBadFrame    = errors.New("bench: bad frame from server")
)

// readMessage reads one data message from a server, skipping control
// frames, and returns its payload length. If keep is non-nil the payload
// is appended to *keep; otherwise it is discarded inside br's buffer. If
// progress is non-nil, payload bytes are added to it as they arrive, so
// that a large message counts before it is whole.
func readMessage(br *bufio.Reader, keep *[]byte, progress *atomic.Int64) (int, error) {
	n, _, err := readFrames(br, keep, progress, false)
	return n, err
}

// readFrames is readMessage, with RSV1 allowed on a message's first frame
// if deflate, when it reports the message compressed. It never inflates:
// the length is that of the payload on the wire.
func readFrames(br *bufio.Reader, keep *[]byte, progress *atomic.Int64, deflate bool) (total int, compressed bool, err error) {
	first := true
	for {
		h, err := br.Peek(2)
		if err != nil {
			return total, compressed, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		rsv := h[0] & 0x70
		if deflate && first && op != 0 && op < 0x8 && rsv == 0x40 {
			compressed, rsv = true, 0 // RFC 7692 §6: RSV1 on a message's first frame
		}
		if rsv != 0 || h[1]&0x80 != 0 {
			// Reserved bits (not agreed) or a masked server frame
			// (RFC 6455 §5.1).
			return total, compressed, fmt.Errorf("%w: % x", errBadFrame, h)
		}
		n, hl := int(h[1]&0x7f), 2
		switch n {
		case 126:
			hl = 4
		case 127:
			hl = 10
		}
		if hl > 2 {
			if h, err = br.Peek(hl); err != nil {
				return total, compressed, err
			}
			if hl == 4 {
				n = int(binary.BigEndian.Uint16(h[2:]))
			} else {
				u := binary.BigEndian.Uint64(h[2:])
				if u > maxMessage {
					return total, compressed, fmt.Errorf("%w: length %d", errBadFrame, u)
				}
				n = int(u)
			}
		}
		br.Discard(hl)
		switch {
		case op == 0x8:
			return total, compressed, errServerClose
		case op >= 0x8:
			if _, err := br.Discard(n); err != nil { // pings need no answer here
				return total, compressed, err
			}
			continue
		case op == 0x0 && first, op != 0x0 && !first, op > 0x2:
			return total, compressed, fmt.Errorf("%w: opcode %d", errBadFrame, op)
		}
		first = false
		if keep != nil {
			k := len(*keep)
			*keep = append(*keep, make([]byte, n)...)
			if _, err := io.ReadFull(br, (*keep)[k:]); err != nil {
				return total, compressed, err
			}
			if progress != nil {
				progress.Add(int64(n))
			}
		} else if err := discard(br, n, progress); err != nil {
			return total, compressed, err
		}
		total += n
		if fin {
			return total, compressed, nil
		}
	}
}

// discard skips n bytes of br, adding them to progress (if non-nil) a
// buffer at a time.
func discard(br *bufio.Reader, n int, progress *atomic.Int64) error {
	if progress == nil {
		_, err := br.Discard(n)
		return err
	}
	for n > 0 {
		k, err := br.Discard(min(n, max(br.Buffered(), 1)))
		progress.Add(int64(k))
		n -= k
		if err != nil {
			return err
		}
	}
	return nil
}
