package frame

import (
	"encoding/binary"
	"unicode/utf8"
)

var (
	errCloseOneByte   = &ProtocolError{CloseProtocolError, "close payload of 1 byte"}
	errCloseCode      = &ProtocolError{CloseProtocolError, "invalid close code"}
	errCloseReasonUTF = &ProtocolError{CloseInvalidPayload, "close reason is not valid UTF-8"}
)

// ParseClose decodes a close frame's payload (RFC 6455 §5.5.1): an empty
// payload means CloseNoStatus; otherwise a 2-byte code, which must be Valid,
// followed by a UTF-8 reason. A malformed payload gives a *ProtocolError
// whose Code is the status to fail the connection with: 1002 for a bad
// length or code, 1007 for a reason that is not UTF-8 (§8.1).
func ParseClose(p []byte) (CloseCode, string, error) {
	switch len(p) {
	case 0:
		return CloseNoStatus, "", nil
	case 1:
		return 0, "", errCloseOneByte
	}
	code := CloseCode(binary.BigEndian.Uint16(p))
	if !code.Valid() {
		return 0, "", errCloseCode
	}
	reason := p[2:]
	if !utf8.Valid(reason) {
		return 0, "", errCloseReasonUTF
	}
	return code, string(reason), nil
}

// AppendClose appends a close payload to dst: nothing for CloseNoStatus,
// otherwise the code and the reason, truncated on a rune boundary so the
// payload fits a control frame (RFC 6455 §5.5).
func AppendClose(dst []byte, code CloseCode, reason string) []byte {
	if code == CloseNoStatus {
		return dst
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	if len(reason) > MaxControlPayload-2 {
		reason = reason[:MaxControlPayload-2]
		for len(reason) > 0 && !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	return append(dst, reason...)
}
