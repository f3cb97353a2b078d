package frame

import "strconv"

// Opcode is the 4-bit frame type of RFC 6455 §5.2.
type Opcode byte

// Opcodes defined by RFC 6455 §5.2 and §11.8. The values 3–7 and 0xB–0xF
// are reserved; a frame carrying one fails the connection.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports whether o is a control opcode (RFC 6455 §5.5): close,
// ping, pong, or one of the reserved control opcodes 0xB–0xF.
func (o Opcode) IsControl() bool { return o&0x8 != 0 }

// IsReserved reports whether o has no meaning in RFC 6455.
func (o Opcode) IsReserved() bool {
	switch o {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
		return false
	}
	return true
}

func (o Opcode) String() string {
	switch o {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return "reserved(" + strconv.Itoa(int(o)) + ")"
}

// CloseCode is a status code carried by a close frame (RFC 6455 §7.4).
type CloseCode uint16

// Close codes registered by RFC 6455 §7.4.1 and in the IANA registry
// (§11.7). Codes marked "never on the wire" are reserved for reporting:
// a close frame carrying one is a protocol error.
const (
	CloseNormal            CloseCode = 1000
	CloseGoingAway         CloseCode = 1001
	CloseProtocolError     CloseCode = 1002
	CloseUnsupportedData   CloseCode = 1003
	CloseNoStatus          CloseCode = 1005 // never on the wire: the close frame had no code
	CloseAbnormal          CloseCode = 1006 // never on the wire: no close frame at all
	CloseInvalidPayload    CloseCode = 1007
	ClosePolicyViolation   CloseCode = 1008
	CloseMessageTooBig     CloseCode = 1009
	CloseMandatoryExt      CloseCode = 1010
	CloseInternalError     CloseCode = 1011
	CloseServiceRestart    CloseCode = 1012
	CloseTryAgainLater     CloseCode = 1013
	CloseBadGateway        CloseCode = 1014
	CloseTLSHandshakeError CloseCode = 1015 // never on the wire
)

// Valid reports whether c may appear in a close frame. RFC 6455 §7.4.1
// forbids 1005, 1006 and 1015 on the wire and §7.4.2 leaves codes below
// 1000 unused; 1004 and 1016–2999 are reserved for future RFCs, and codes
// above 4999 are undefined. 3000–4999 belong to libraries and applications.
func (c CloseCode) Valid() bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}

func (c CloseCode) String() string {
	switch c {
	case CloseNormal:
		return "normal closure"
	case CloseGoingAway:
		return "going away"
	case CloseProtocolError:
		return "protocol error"
	case CloseUnsupportedData:
		return "unsupported data"
	case CloseNoStatus:
		return "no status"
	case CloseAbnormal:
		return "abnormal closure"
	case CloseInvalidPayload:
		return "invalid payload data"
	case ClosePolicyViolation:
		return "policy violation"
	case CloseMessageTooBig:
		return "message too big"
	case CloseMandatoryExt:
		return "mandatory extension"
	case CloseInternalError:
		return "internal error"
	case CloseServiceRestart:
		return "service restart"
	case CloseTryAgainLater:
		return "try again later"
	case CloseBadGateway:
		return "bad gateway"
	case CloseTLSHandshakeError:
		return "TLS handshake error"
	}
	return "close code " + strconv.Itoa(int(c))
}
