package hostile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/ab7c482b/websocket/frame"
	"github.com/ab7c482b/websocket/internal/rawws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failWith is a case where the server must fail the connection with code
// (RFC 6455 §7.1.7) after the raw client sends send, and end the TCP
// connection once the client answers and half-closes.
func failWith(name string, code frame.CloseCode, send []byte) hostileCase {
	return hostileCase{name: name, servers: []string{"echo", "chat"}, run: func(t *testing.T, s *instance) {
		sess := open(t, s)
		require.NoError(t, sess.send(send))
		got, err := sess.awaitClose()
		require.NoError(t, err, "the server's close frame")
		assert.Equal(t, code, got.code, "close code (reason %q)", got.reason)
		assert.NoError(t, sess.finish(got.code))
	}}
}

// framingCases are the violations of RFC 6455 §5 (and §7.4, §8.1 for the
// payloads of close and text frames).
func framingCases() []hostileCase {
	const (
		protocol = frame.CloseProtocolError
		utf8     = frame.CloseInvalidPayload
	)
	text := func(p string) []byte { return masked(true, 0, frame.OpText, p) }
	p126 := strings.Repeat("x", 126)
	var cs []hostileCase
	for _, rsv := range []byte{frame.Rsv1, frame.Rsv2, frame.Rsv3} {
		cs = append(cs,
			failWith(fmt.Sprintf("§5.2 text frame with RSV %#02x and no extension", rsv), protocol, masked(true, rsv, frame.OpText, "hello")),
			failWith(fmt.Sprintf("§5.2 ping with RSV %#02x and no extension", rsv), protocol, masked(true, rsv, frame.OpPing, "hello")))
	}
	for _, op := range []frame.Opcode{3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF} {
		cs = append(cs, failWith(fmt.Sprintf("§5.2 reserved opcode %#x", byte(op)), protocol, masked(true, 0, op, "reserved")))
	}
	cs = append(cs,
		failWith("§5.1 unmasked text frame from a client", protocol, rawws.AppendFrame(nil, true, 0, frame.OpText, []byte("hello"), false)),
		failWith("§5.1 unmasked close frame from a client", protocol, rawws.AppendFrame(nil, true, 0, frame.OpClose, frame.AppendClose(nil, frame.CloseNormal, ""), false)),
		failWith("§5.5 fragmented ping", protocol, concat(masked(false, 0, frame.OpPing, "ab"), masked(true, 0, frame.OpContinuation, "cd"))),
		failWith("§5.5 fragmented close", protocol, masked(false, 0, frame.OpClose, "\x03\xe8")),
		failWith("§5.5 ping with 126 bytes of payload", protocol, masked(true, 0, frame.OpPing, p126)),
		failWith("§5.5 pong with 126 bytes of payload", protocol, masked(true, 0, frame.OpPong, p126)),
		failWith("§5.5 close with 126 bytes of payload", protocol, masked(true, 0, frame.OpClose, "\x03\xe8"+p126[2:])),
		failWith("§5.4 continuation with no message begun", protocol, masked(true, 0, frame.OpContinuation, "orphan")),
		failWith("§5.4 text frame inside a fragmented message", protocol, concat(masked(false, 0, frame.OpText, "first "), text("second"))),
		failWith("§5.4 binary frame inside a fragmented message", protocol, concat(masked(false, 0, frame.OpBinary, "first "), masked(false, 0, frame.OpBinary, "second"))),
		failWith("§5.2 16-bit length holding 5", protocol, concat(header(0x81, 126, 0, 5), []byte("hello"))),
		failWith("§5.2 64-bit length holding 5", protocol, concat(header(0x81, 127, 0, 0, 0, 0, 0, 0, 0, 5), []byte("hello"))),
		failWith("§5.2 64-bit length holding 65535", protocol, header(0x82, 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff)),
		failWith("§5.2 64-bit length with the top bit set", protocol, header(0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1)),
		failWith("§5.2 64-bit length of all ones", protocol, header(0x82, 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)),
		failWith("§8.1 text message with a UTF-16 surrogate", utf8, text("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited")),
		failWith("§8.1 text message of 0xff", utf8, text("\xff")),
		failWith("§8.1 text message ending inside a sequence", utf8, text("euro \xe2\x82")),
		failWith("§8.1 invalid UTF-8 in the second fragment", utf8, concat(masked(false, 0, frame.OpText, "κόσμε "), masked(true, 0, frame.OpContinuation, "\xed\xa0\x80"))),
		failWith("§8.1 code point above U+10FFFF split across fragments", utf8, concat(masked(false, 0, frame.OpText, "ok \xf4"), masked(false, 0, frame.OpContinuation, "\x90\x80"), masked(true, 0, frame.OpContinuation, "\x80"))),
		failWith("§5.5.1 invalid UTF-8 in a close reason", utf8, masked(true, 0, frame.OpClose, "\x03\xe8bad \xc0\xaf reason")),
		failWith("§5.5.1 close payload of 1 byte", protocol, masked(true, 0, frame.OpClose, "\x03")),
	)
	for _, code := range []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535} {
		p := binary.BigEndian.AppendUint16(nil, code)
		cs = append(cs, failWith(fmt.Sprintf("§7.4 close code %d may not be sent", code), protocol, masked(true, 0, frame.OpClose, string(p))))
	}
	// The same violations after a valid message, to catch state that
	// only a served connection has.
	cs = append(cs,
		failWith("§5.2 reserved opcode after a valid message", protocol, concat(text("fine"), masked(true, 0, 0x3, ""))),
		failWith("§8.1 invalid UTF-8 after a valid message", utf8, concat(text("fine"), text(string(bytes.Repeat([]byte{0xc3}, 3))))),
	)
	return cs
}
