package frame

import (
	"encoding/binary"
	"io"
)

// MaxHeaderSize is the longest a frame header can be: 2 fixed bytes, an
// 8-byte extended length and a 4-byte masking key (RFC 6455 §5.2).
const MaxHeaderSize = 14

// MaxControlPayload is the largest payload a control frame may carry
// (RFC 6455 §5.5).
const MaxControlPayload = 125

// Bits of the first header byte that carry RSV1–RSV3 (RFC 6455 §5.2).
// Extensions give them meaning; permessage-deflate uses RSV1.
const (
	Rsv1 byte = 0x40
	Rsv2 byte = 0x20
	Rsv3 byte = 0x10
)

// Header is a decoded frame header (RFC 6455 §5.2).
type Header struct {
	Fin    bool
	Rsv    byte // RSV1–RSV3 as on the wire: a combination of Rsv1, Rsv2, Rsv3
	Opcode Opcode
	Masked bool
	Mask   [4]byte // valid when Masked
	Length int64   // payload length, never negative
}

// ProtocolError is a violation of RFC 6455 by the peer. Code is the
// status to send in the close frame that fails the connection (§7.1.7).
type ProtocolError struct {
	Code   CloseCode
	Reason string
}

func (e *ProtocolError) Error() string { return "frame: " + e.Reason }

// Errors returned for malformed headers. They are values, not built per
// frame, so a hostile stream costs no allocation.
var (
	errReservedOpcode   = &ProtocolError{CloseProtocolError, "reserved opcode"}
	errFragmentedCtl    = &ProtocolError{CloseProtocolError, "fragmented control frame"}
	errLongControl      = &ProtocolError{CloseProtocolError, "control frame payload over 125 bytes"}
	errNonMinimalLength = &ProtocolError{CloseProtocolError, "payload length not in minimal form"}
	errLengthTopBit     = &ProtocolError{CloseProtocolError, "64-bit payload length with the top bit set"}
)

// headerSize returns the full header size announced by its first two bytes.
func headerSize(b0, b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// ParseHeader decodes the header at the start of b and returns it with the
// number of bytes it occupies. A b too short to hold the whole header gives
// io.ErrUnexpectedEOF and consumes nothing, so a caller may retry with more.
// A header that breaks RFC 6455 §5.2 or §5.5 gives a *ProtocolError: a
// reserved opcode, a control frame that is fragmented or longer than 125
// bytes, a 64-bit length with its top bit set, or a length not in its
// minimal form. RSV bits are returned as they are, for the caller that
// knows the negotiated extensions to judge.
func ParseHeader(b []byte) (Header, int, error) {
	if len(b) < 2 {
		return Header{}, 0, io.ErrUnexpectedEOF
	}
	b0, b1 := b[0], b[1]
	h := Header{
		Fin:    b0&0x80 != 0,
		Rsv:    b0 & (Rsv1 | Rsv2 | Rsv3),
		Opcode: Opcode(b0 & 0x0f),
		Masked: b1&0x80 != 0,
	}
	if h.Opcode.IsReserved() {
		return Header{}, 0, errReservedOpcode
	}
	n := headerSize(b0, b1)
	if len(b) < n {
		return Header{}, 0, io.ErrUnexpectedEOF
	}
	switch l := b1 & 0x7f; l {
	case 126:
		h.Length = int64(binary.BigEndian.Uint16(b[2:]))
		if h.Length < 126 {
			return Header{}, 0, errNonMinimalLength
		}
	case 127:
		u := binary.BigEndian.Uint64(b[2:])
		if u>>63 != 0 {
			return Header{}, 0, errLengthTopBit
		}
		if u <= 0xffff {
			return Header{}, 0, errNonMinimalLength
		}
		h.Length = int64(u)
	default:
		h.Length = int64(l)
	}
	if h.Opcode.IsControl() {
		if !h.Fin {
			return Header{}, 0, errFragmentedCtl
		}
		if h.Length > MaxControlPayload {
			return Header{}, 0, errLongControl
		}
	}
	if h.Masked {
		copy(h.Mask[:], b[n-4:n])
	}
	return h, n, nil
}

// AppendHeader appends the wire form of h to dst, with the payload length
// in its minimal form (RFC 6455 §5.2), and returns the extended slice. It
// encodes what it is given: a negative Length is a programming error and
// panics.
func AppendHeader(dst []byte, h Header) []byte {
	if h.Length < 0 {
		panic("frame: negative payload length")
	}
	b0 := byte(h.Opcode)&0x0f | h.Rsv&(Rsv1|Rsv2|Rsv3)
	if h.Fin {
		b0 |= 0x80
	}
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	switch {
	case h.Length < 126:
		dst = append(dst, b0, b1|byte(h.Length))
	case h.Length <= 0xffff:
		dst = append(dst, b0, b1|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(h.Length))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(h.Length))
	}
	if h.Masked {
		dst = append(dst, h.Mask[:]...)
	}
	return dst
}
