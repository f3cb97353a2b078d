package frame_test

import (
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ab7c482b/websocket/frame"
)

func TestParseClose(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		code    frame.CloseCode
		reason  string
	}{
		// RFC 6455 §5.5.1: a close frame may have no body; §7.1.5 then
		// reports 1005.
		{"empty", "", frame.CloseNoStatus, ""},
		{"normal no reason", "\x03\xe8", frame.CloseNormal, ""},
		{"normal with reason", "\x03\xe8bye", frame.CloseNormal, "bye"},
		{"going away", "\x03\xe9", frame.CloseGoingAway, ""},
		{"1014 highest registered", "\x03\xf6", frame.CloseBadGateway, ""},
		{"3000 first library code", "\x0b\xb8", 3000, ""},
		{"4999 last private code", "\x13\x87x", 4999, "x"},
		{"utf-8 reason kosme", "\x03\xe8\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", frame.CloseNormal, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"},
		{"reason of 123 bytes fills a control frame", "\x03\xe8" + strings.Repeat("r", 123), frame.CloseNormal, strings.Repeat("r", 123)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, reason, err := frame.ParseClose([]byte(tc.payload))
			require.NoError(t, err)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.reason, reason)
		})
	}
}

func TestParseCloseRejects(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		code    frame.CloseCode // to fail the connection with
	}{
		// RFC 6455 §5.5.1: a body starts with a 2-byte code.
		{"one byte", "\x03", frame.CloseProtocolError},
		// RFC 6455 §8.1: the reason is UTF-8; otherwise 1007 (§7.4.1).
		{"reason with ff", "\x03\xe8\xff", frame.CloseInvalidPayload},
		{"reason with surrogate", "\x03\xe8ok\xed\xa0\x80", frame.CloseInvalidPayload},
		{"reason truncated sequence", "\x03\xe8\xe2\x82", frame.CloseInvalidPayload},
		// The code is checked first.
		{"bad code and bad reason", "\x03\xed\xff", frame.CloseProtocolError},
	}
	// RFC 6455 §7.4: codes an endpoint must not send, or that are not
	// assigned.
	for _, c := range []frame.CloseCode{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535} {
		p := binary.BigEndian.AppendUint16(nil, uint16(c))
		tests = append(tests,
			struct {
				name    string
				payload string
				code    frame.CloseCode
			}{"code " + c.String(), string(p), frame.CloseProtocolError},
			struct {
				name    string
				payload string
				code    frame.CloseCode
			}{"code " + c.String() + " with reason", string(p) + "why", frame.CloseProtocolError},
		)
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, reason, err := frame.ParseClose([]byte(tc.payload))
			var pe *frame.ProtocolError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tc.code, pe.Code)
			assert.Zero(t, code)
			assert.Empty(t, reason)
		})
	}
}

func TestAppendClose(t *testing.T) {
	tests := []struct {
		name   string
		code   frame.CloseCode
		reason string
		wire   string
	}{
		// RFC 6455 §5.5.1: code in network byte order, then the reason.
		{"normal", frame.CloseNormal, "", "\x03\xe8"},
		{"normal with reason", frame.CloseNormal, "bye", "\x03\xe8bye"},
		{"protocol error", frame.CloseProtocolError, "", "\x03\xea"},
		{"private code", 4000, "x", "\x0f\xa0x"},
		// No status means an empty body (§7.1.5), whatever the reason.
		{"no status", frame.CloseNoStatus, "", ""},
		{"no status drops reason", frame.CloseNoStatus, "ignored", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.wire, string(frame.AppendClose(nil, tc.code, tc.reason)))
			assert.Equal(t, "dst"+tc.wire, string(frame.AppendClose([]byte("dst"), tc.code, tc.reason)))
		})
	}
}

func TestCloseRoundTrip(t *testing.T) {
	codes := []frame.CloseCode{
		frame.CloseNoStatus, frame.CloseNormal, frame.CloseGoingAway,
		frame.CloseProtocolError, frame.CloseUnsupportedData,
		frame.CloseInvalidPayload, frame.ClosePolicyViolation,
		frame.CloseMessageTooBig, frame.CloseMandatoryExt,
		frame.CloseInternalError, frame.CloseServiceRestart,
		frame.CloseTryAgainLater, frame.CloseBadGateway, 3000, 4999,
	}
	reasons := []string{"", "bye", "κόσμε", "\U0001F600", strings.Repeat("r", 123)}
	for _, code := range codes {
		for _, reason := range reasons {
			p := frame.AppendClose(nil, code, reason)
			gotCode, gotReason, err := frame.ParseClose(p)
			require.NoError(t, err, "%v %q", code, reason)
			assert.Equal(t, code, gotCode)
			if code == frame.CloseNoStatus {
				assert.Empty(t, gotReason)
				continue
			}
			assert.Equal(t, reason, gotReason)
		}
	}
}

// TestAppendCloseTruncates checks that a reason too long for a control
// frame (RFC 6455 §5.5: 125 bytes, 2 of them the code) is cut on a rune
// boundary, as long as it can be.
func TestAppendCloseTruncates(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		want   int // reason bytes kept
	}{
		{"ascii 124", strings.Repeat("a", 124), 123},
		{"ascii 1000", strings.Repeat("a", 1000), 123},
		{"two-byte runes", strings.Repeat("é", 100), 122},                // 61 runes
		{"three-byte runes", strings.Repeat("€", 100), 123},              // 41 runes fill it exactly
		{"four-byte runes", "ab" + strings.Repeat("😀", 40), 122},         // 2 + 30 runes
		{"four-byte runes cut at 1", "a" + strings.Repeat("😀", 40), 121}, // 1 + 30 runes
		{"mixed", strings.Repeat("aé€😀", 20), 123},                       // 12 groups of 10, then "aé"
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := frame.AppendClose(nil, frame.CloseGoingAway, tc.reason)
			assert.LessOrEqual(t, len(p), frame.MaxControlPayload)
			code, reason, err := frame.ParseClose(p)
			require.NoError(t, err)
			assert.Equal(t, frame.CloseGoingAway, code)
			assert.Len(t, reason, tc.want)
			assert.True(t, utf8.ValidString(reason))
			assert.True(t, strings.HasPrefix(tc.reason, reason))
		})
	}
}
