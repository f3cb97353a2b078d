package conformance

import (
	"bufio"
	"bytes"
	be "encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/ab7c482b/websocket/frame"
	"github.com/ab7c482b/websocket/internal/rawws"
)

// wireFrame is a frame exactly as the raw side puts it on the wire: any
// bits, any opcode and any length, including the invalid ones the cases
// need. Its length is always written in the minimal form.
type wireFrame struct {
	fin     bool
	rsv     byte
	op      frame.Opcode
	payload []byte
}

// appendTo appends f's encoding to dst, masked with a fresh random key if
// mask is set (RFC 6455 §5.3: a client masks every frame).
func (f wireFrame) appendTo(dst []byte, mask bool) []byte {
	return rawws.AppendFrame(dst, f.fin, f.rsv, f.op, f.payload, mask)
}

// encodedLen is the length of f on the wire.
func (f wireFrame) encodedLen(mask bool) int {
	n := 2 + len(f.payload)
	switch {
	case len(f.payload) > 0xffff:
		n += 8
	case len(f.payload) > 125:
		n += 2
	}
	if mask {
		n += 4
	}
	return n
}

// Frame constructors. Whole data frames and control frames have FIN set.
func text(s string) wireFrame   { return wireFrame{fin: true, op: frame.OpText, payload: []byte(s)} }
func binary(p []byte) wireFrame { return wireFrame{fin: true, op: frame.OpBinary, payload: p} }
func ping(p string) wireFrame   { return wireFrame{fin: true, op: frame.OpPing, payload: []byte(p)} }
func pong(p string) wireFrame   { return wireFrame{fin: true, op: frame.OpPong, payload: []byte(p)} }

// frag is one fragment of a message: op is OpText or OpBinary on the
// first fragment and OpContinuation on the others (RFC 6455 §5.4).
func frag(op frame.Opcode, fin bool, p string) wireFrame {
	return wireFrame{fin: fin, op: op, payload: []byte(p)}
}

// closeFrame is a close frame with a code and reason (RFC 6455 §5.5.1).
func closeFrame(code frame.CloseCode, reason string) wireFrame {
	p := binary16(uint16(code))
	return wireFrame{fin: true, op: frame.OpClose, payload: append(p, reason...)}
}

// closeRaw is a close frame with any payload.
func closeRaw(p []byte) wireFrame { return wireFrame{fin: true, op: frame.OpClose, payload: p} }

func binary16(v uint16) []byte { return be.BigEndian.AppendUint16(nil, v) }

// fragments splits p into a message of frames of at most size bytes
// each (at least one frame, even for an empty p).
func fragments(op frame.Opcode, p []byte, size int) []wireFrame {
	var fs []wireFrame
	for first := true; first || len(p) > 0; first = false {
		n := min(size, len(p))
		f := wireFrame{op: frame.OpContinuation, payload: p[:n]}
		if first {
			f.op = op
		}
		p = p[n:]
		f.fin = len(p) == 0
		fs = append(fs, f)
	}
	return fs
}

// event is what the raw side receives from the library, in order: a
// whole message or a control frame other than close.
type event struct {
	op   frame.Opcode // OpText or OpBinary for a message; OpPing or OpPong
	data []byte
	// compressed says the message came with RSV1 set: permessage-deflate
	// (RFC 7692 §6); data is what it inflated to.
	compressed bool
}

func msg(op frame.Opcode, p []byte) event { return event{op: op, data: p} }
func textMsg(s string) event              { return event{op: frame.OpText, data: []byte(s)} }
func pongEvent(p string) event            { return event{op: frame.OpPong, data: []byte(p)} }

func (e event) String() string {
	c := ""
	if e.compressed {
		c = " (compressed)"
	}
	if len(e.data) <= 32 {
		return fmt.Sprintf("%v %q%s", e.op, e.data, c)
	}
	return fmt.Sprintf("%v of %d bytes%s", e.op, len(e.data), c)
}

// diffEvents describes the first difference between two event lists, or
// returns "" if they are equal. It keeps large payloads out of the
// failure message.
func diffEvents(want, got []event) string {
	for i := range max(len(want), len(got)) {
		switch {
		case i >= len(got):
			return fmt.Sprintf("missing event %d of %d: want %v (got %d events)", i+1, len(want), want[i], len(got))
		case i >= len(want):
			return fmt.Sprintf("unexpected event %d: %v (want %d events)", i+1, got[i], len(want))
		case want[i].op != got[i].op || !bytes.Equal(want[i].data, got[i].data) || want[i].compressed != got[i].compressed:
			d := ""
			if want[i].op == got[i].op && len(want[i].data) == len(got[i].data) {
				for j := range want[i].data {
					if want[i].data[j] != got[i].data[j] {
						d = fmt.Sprintf(", first difference at byte %d", j)
						break
					}
				}
			}
			return fmt.Sprintf("event %d: got %v, want %v%s", i+1, got[i], want[i], d)
		}
	}
	return ""
}

// peerFrame is a frame read from the library.
type peerFrame struct {
	frame.Header
	payload []byte
}

// readFrame reads one frame from the library and checks what RFC 6455
// requires of every frame: no reserved bits without an extension (§5.2;
// deflate allows RSV1, which the caller checks further),
// masked from a client and unmasked from a server (§5.1), no reserved
// opcode, and control frames whole and at most 125 bytes (§5.5), which
// ParseHeader checks. fromClient says which end the library is. The
// payload is unmasked. An error wraps io.EOF (or another read error) when
// the connection ended, or describes the violation.
func readFrame(br *bufio.Reader, fromClient, deflate bool) (peerFrame, error) {
	var hdr [frame.MaxHeaderSize]byte
	if _, err := io.ReadFull(br, hdr[:2]); err != nil {
		return peerFrame{}, err
	}
	n := 2
	switch hdr[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if hdr[1]&0x80 != 0 {
		n += 4
	}
	if _, err := io.ReadFull(br, hdr[2:n]); err != nil {
		return peerFrame{}, fmt.Errorf("truncated frame header: %w", err)
	}
	h, _, err := frame.ParseHeader(hdr[:n])
	if err != nil {
		return peerFrame{}, violation("invalid frame header % x: %v", hdr[:n], err)
	}
	switch {
	case deflate && h.Rsv&^frame.Rsv1 != 0:
		return peerFrame{}, violation("RSV bits %#x set; permessage-deflate uses RSV1 only (RFC 6455 §5.2, RFC 7692 §6)", h.Rsv)
	case !deflate && h.Rsv != 0:
		return peerFrame{}, violation("RSV bits %#x set with no extension negotiated (RFC 6455 §5.2)", h.Rsv)
	}
	if h.Masked != fromClient {
		return peerFrame{}, violation("frame masked=%v from the %s (RFC 6455 §5.1)", h.Masked, side(fromClient))
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(br, p); err != nil {
		return peerFrame{}, fmt.Errorf("truncated %v frame payload: %w", h.Opcode, err)
	}
	if h.Masked {
		frame.Mask(h.Mask, 0, p)
	}
	return peerFrame{h, p}, nil
}

func side(client bool) string {
	if client {
		return "client"
	}
	return "server"
}

// protocolViolation is an RFC 6455 requirement the library broke.
type protocolViolation struct{ msg string }

func (v *protocolViolation) Error() string { return v.msg }

func violation(format string, args ...any) error {
	return &protocolViolation{fmt.Sprintf(format, args...)}
}

func isViolation(err error) bool {
	var v *protocolViolation
	return errors.As(err, &v)
}

// checkClosePayload checks the payload of a close frame from the library
// (RFC 6455 §5.5.1, §7.4): empty, or a code that may be sent and a UTF-8
// reason. It returns the code, or CloseNoStatus for an empty payload.
func checkClosePayload(p []byte) (frame.CloseCode, error) {
	switch len(p) {
	case 0:
		return frame.CloseNoStatus, nil
	case 1:
		return 0, violation("close payload of 1 byte (RFC 6455 §5.5.1)")
	}
	code := frame.CloseCode(be.BigEndian.Uint16(p))
	if !code.Valid() {
		return code, violation("close code %d may not be sent (RFC 6455 §7.4)", code)
	}
	if !utf8.Valid(p[2:]) {
		return code, violation("close reason is not UTF-8 (RFC 6455 §5.5.1)")
	}
	return code, nil
}

// validUTF8Prefix reports whether p is valid UTF-8 or could become valid
// UTF-8 with more bytes: what an unfinished text message may hold
// (RFC 6455 §8.1).
func validUTF8Prefix(p []byte) bool {
	if utf8.Valid(p) {
		return true
	}
	// Only an incomplete sequence of up to 3 bytes at the end may remain.
	for k := 1; k <= 3 && k <= len(p); k++ {
		if !utf8.Valid(p[:len(p)-k]) {
			continue
		}
		tail := p[len(p)-k:]
		// Complete the tail with continuation bytes; the second byte's
		// range depends on the lead (RFC 3629 §4), so try the low end of
		// each range.
		for _, fill := range []byte{0x80, 0x90, 0xA0} {
			r := append(bytes.Clone(tail), fill, 0x80, 0x80)
			if n := seqLen(tail[0]); n > k && utf8.Valid(r[:n]) {
				return true
			}
		}
	}
	return false
}

// seqLen is the length of the UTF-8 sequence that lead byte b starts, or
// 0 if b cannot start one.
func seqLen(b byte) int {
	switch {
	case b < 0x80:
		return 1
	case b >= 0xC2 && b <= 0xDF:
		return 2
	case b >= 0xE0 && b <= 0xEF:
		return 3
	case b >= 0xF0 && b <= 0xF4:
		return 4
	}
	return 0
}

// textPayload returns n bytes of ASCII text; binaryPayload n bytes of
// every value. Both are deterministic, so a wrong byte shows where.
func textPayload(n int) []byte {
	const pattern = "Hello, WebSocket! 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
	p := make([]byte, n)
	for i := 0; i < n; i += len(pattern) {
		copy(p[i:], pattern)
	}
	return p
}

func binaryPayload(n int) []byte {
	p := make([]byte, n)
	x := uint32(2463534242)
	for i := range p {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		p[i] = byte(x)
	}
	return p
}
