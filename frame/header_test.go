package frame_test

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ab7c482b/websocket/frame"
)

// rfcKey is the masking key of the RFC 6455 §5.7 examples.
var rfcKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// headerTests is the codec table, run both ways: AppendHeader(nil, header)
// must give wire, and ParseHeader(wire) must give header back.
var headerTests = []struct {
	name   string
	header frame.Header
	wire   string
}{
	// RFC 6455 §5.7 examples, header bytes only.
	{
		// A single-frame unmasked text message: 0x81 0x05 "Hello".
		name:   "rfc unmasked text Hello",
		header: frame.Header{Fin: true, Opcode: frame.OpText, Length: 5},
		wire:   "\x81\x05",
	},
	{
		// A single-frame masked text message with key 37 fa 21 3d.
		name:   "rfc masked text Hello",
		header: frame.Header{Fin: true, Opcode: frame.OpText, Masked: true, Mask: rfcKey, Length: 5},
		wire:   "\x81\x85\x37\xfa\x21\x3d",
	},
	{
		// First fragment of a fragmented text message: "Hel", FIN clear.
		name:   "rfc fragmented first",
		header: frame.Header{Opcode: frame.OpText, Length: 3},
		wire:   "\x01\x03",
	},
	{
		// Last fragment: a continuation with FIN set, "lo".
		name:   "rfc fragmented last",
		header: frame.Header{Fin: true, Opcode: frame.OpContinuation, Length: 2},
		wire:   "\x80\x02",
	},
	{
		// Unmasked ping carrying "Hello".
		name:   "rfc unmasked ping",
		header: frame.Header{Fin: true, Opcode: frame.OpPing, Length: 5},
		wire:   "\x89\x05",
	},
	{
		// Masked pong answering it.
		name:   "rfc masked pong",
		header: frame.Header{Fin: true, Opcode: frame.OpPong, Masked: true, Mask: rfcKey, Length: 5},
		wire:   "\x8a\x85\x37\xfa\x21\x3d",
	},
	{
		// 256 bytes binary message: 0x82 0x7E 0x0100.
		name:   "rfc 256-byte binary",
		header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 256},
		wire:   "\x82\x7e\x01\x00",
	},
	{
		// 64 KiB binary message: 0x82 0x7F 0x0000000000010000.
		name:   "rfc 64 KiB binary",
		header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 65536},
		wire:   "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00",
	},

	// RFC 6455 §5.2 length boundaries: 7-bit up to 125, then 16-bit up to
	// 65535, then 64-bit.
	{
		name:   "length 0",
		header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 0},
		wire:   "\x82\x00",
	},
	{
		name:   "length 125 last 7-bit",
		header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 125},
		wire:   "\x82\x7d",
	},
	{
		name:   "length 126 first 16-bit",
		header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 126},
		wire:   "\x82\x7e\x00\x7e",
	},
	{
		name:   "length 127",
		header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 127},
		wire:   "\x82\x7e\x00\x7f",
	},
	{
		name:   "length 65535 last 16-bit",
		header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 65535},
		wire:   "\x82\x7e\xff\xff",
	},
	{
		name:   "length 65536 first 64-bit masked",
		header: frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Mask: rfcKey, Length: 65536},
		wire:   "\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00\x37\xfa\x21\x3d",
	},
	{
		name:   "length 4 GiB needs 8 bytes",
		header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 1 << 32},
		wire:   "\x82\x7f\x00\x00\x00\x01\x00\x00\x00\x00",
	},
	{
		// The top bit must be 0, so this is the largest length there is.
		name:   "length 2^63-1 largest",
		header: frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 1<<63 - 1},
		wire:   "\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff",
	},
	{
		name:   "masked 16-bit length",
		header: frame.Header{Fin: true, Opcode: frame.OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: 300},
		wire:   "\x81\xfe\x01\x2c\x01\x02\x03\x04",
	},

	// RFC 6455 §5.5: control frames up to 125 bytes.
	{
		name:   "empty close",
		header: frame.Header{Fin: true, Opcode: frame.OpClose},
		wire:   "\x88\x00",
	},
	{
		name:   "close of 125 bytes",
		header: frame.Header{Fin: true, Opcode: frame.OpClose, Length: 125},
		wire:   "\x88\x7d",
	},
	{
		name:   "empty pong masked",
		header: frame.Header{Fin: true, Opcode: frame.OpPong, Masked: true, Mask: [4]byte{0xff, 0, 0xff, 0}},
		wire:   "\x8a\x80\xff\x00\xff\x00",
	},

	// RFC 6455 §5.2: RSV bits are passed through for extensions to judge.
	{
		name:   "rsv1 text (permessage-deflate)",
		header: frame.Header{Fin: true, Rsv: frame.Rsv1, Opcode: frame.OpText, Length: 5},
		wire:   "\xc1\x05",
	},
	{
		name:   "rsv2 binary",
		header: frame.Header{Rsv: frame.Rsv2, Opcode: frame.OpBinary},
		wire:   "\x22\x00",
	},
	{
		name:   "rsv3 continuation",
		header: frame.Header{Fin: true, Rsv: frame.Rsv3, Opcode: frame.OpContinuation, Length: 1},
		wire:   "\x90\x01",
	},
	{
		name:   "all rsv bits",
		header: frame.Header{Fin: true, Rsv: frame.Rsv1 | frame.Rsv2 | frame.Rsv3, Opcode: frame.OpBinary, Length: 126},
		wire:   "\xf2\x7e\x00\x7e",
	},
}

func TestAppendHeader(t *testing.T) {
	for _, tc := range headerTests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, []byte(tc.wire), frame.AppendHeader(nil, tc.header))

			// Appending keeps what dst already holds.
			got := frame.AppendHeader([]byte("prefix"), tc.header)
			assert.Equal(t, "prefix"+tc.wire, string(got))
		})
	}
}

func TestParseHeader(t *testing.T) {
	for _, tc := range headerTests {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := frame.ParseHeader([]byte(tc.wire))
			require.NoError(t, err)
			assert.Equal(t, tc.header, h)
			assert.Equal(t, len(tc.wire), n)
			assert.LessOrEqual(t, n, frame.MaxHeaderSize)

			// Payload bytes after the header are not consumed.
			h, n, err = frame.ParseHeader([]byte(tc.wire + "Hello"))
			require.NoError(t, err)
			assert.Equal(t, tc.header, h)
			assert.Equal(t, len(tc.wire), n)
		})
	}
}

// TestParseHeaderShort cuts every header at every length short of whole:
// ParseHeader must ask for more and consume nothing, so a caller can retry.
func TestParseHeaderShort(t *testing.T) {
	for _, tc := range headerTests {
		t.Run(tc.name, func(t *testing.T) {
			for i := range len(tc.wire) {
				h, n, err := frame.ParseHeader([]byte(tc.wire[:i]))
				assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "prefix of %d bytes", i)
				assert.Equal(t, 0, n, "prefix of %d bytes", i)
				assert.Equal(t, frame.Header{}, h, "prefix of %d bytes", i)
			}
		})
	}
}

func TestParseHeaderRejects(t *testing.T) {
	tests := []struct {
		name string
		wire string
	}{
		// RFC 6455 §5.5: control frames must not be fragmented.
		{"close without fin", "\x08\x00"},
		{"ping without fin", "\x09\x05"},
		{"pong without fin masked", "\x0a\x80\x01\x02\x03\x04"},

		// RFC 6455 §5.5: control frames carry at most 125 bytes.
		{"ping of 126 bytes", "\x89\x7e\x00\x7e"},
		{"close of 65535 bytes", "\x88\x7e\xff\xff"},
		{"pong of 64 KiB", "\x8a\x7f\x00\x00\x00\x00\x00\x01\x00\x00"},

		// RFC 6455 §5.2: the most significant bit of a 64-bit length
		// must be 0.
		{"64-bit length top bit", "\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00"},
		{"64-bit length all ones", "\x82\x7f\xff\xff\xff\xff\xff\xff\xff\xff"},
		{"64-bit length top bit masked", "\x82\xff\x80\x00\x00\x00\x00\x01\x00\x00\x01\x02\x03\x04"},

		// RFC 6455 §5.2: "the minimal number of bytes MUST be used to
		// encode the length".
		{"16-bit length 5", "\x82\x7e\x00\x05"},
		{"16-bit length 0", "\x82\x7e\x00\x00"},
		{"16-bit length 125", "\x82\x7e\x00\x7d"},
		{"16-bit length 124 as in the RFC", "\x82\x7e\x00\x7c"},
		{"64-bit length 5", "\x82\x7f\x00\x00\x00\x00\x00\x00\x00\x05"},
		{"64-bit length 126", "\x82\x7f\x00\x00\x00\x00\x00\x00\x00\x7e"},
		{"64-bit length 65535", "\x82\x7f\x00\x00\x00\x00\x00\x00\xff\xff"},
		{"64-bit length 0 masked", "\x81\xff\x00\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04"},
	}
	// RFC 6455 §5.2: opcodes %x3-7 and %xB-F are reserved.
	for _, op := range []byte{3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf} {
		op := frame.Opcode(op)
		tests = append(tests,
			struct{ name, wire string }{"reserved " + op.String(), string([]byte{0x80 | byte(op), 0x00})},
			struct{ name, wire string }{"reserved " + op.String() + " no fin", string([]byte{byte(op), 0x05})},
		)
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := frame.ParseHeader([]byte(tc.wire + "payload"))
			var pe *frame.ProtocolError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, frame.CloseProtocolError, pe.Code)
			assert.NotEmpty(t, pe.Reason)
			assert.True(t, strings.HasPrefix(err.Error(), "frame: "), err.Error())
			assert.Equal(t, 0, n)
			assert.Equal(t, frame.Header{}, h)
		})
	}
}

// TestParseHeaderRsv checks every combination of RSV bits is returned as
// on the wire, for the caller that knows the negotiated extensions.
func TestParseHeaderRsv(t *testing.T) {
	for bits := range byte(8) {
		rsv := bits << 4
		h, n, err := frame.ParseHeader([]byte{0x80 | rsv | byte(frame.OpBinary), 0x00})
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		assert.Equal(t, rsv, h.Rsv)
		assert.Equal(t, frame.OpBinary, h.Opcode)
		assert.True(t, h.Fin)
	}
}

func TestAppendHeaderNegativeLength(t *testing.T) {
	assert.Panics(t, func() {
		frame.AppendHeader(nil, frame.Header{Opcode: frame.OpBinary, Length: -1})
	})
}

func TestOpcode(t *testing.T) {
	tests := []struct {
		op       frame.Opcode
		str      string
		control  bool
		reserved bool
	}{
		{frame.OpContinuation, "continuation", false, false},
		{frame.OpText, "text", false, false},
		{frame.OpBinary, "binary", false, false},
		{3, "reserved(3)", false, true},
		{4, "reserved(4)", false, true},
		{5, "reserved(5)", false, true},
		{6, "reserved(6)", false, true},
		{7, "reserved(7)", false, true},
		{frame.OpClose, "close", true, false},
		{frame.OpPing, "ping", true, false},
		{frame.OpPong, "pong", true, false},
		{0xb, "reserved(11)", true, true},
		{0xc, "reserved(12)", true, true},
		{0xd, "reserved(13)", true, true},
		{0xe, "reserved(14)", true, true},
		{0xf, "reserved(15)", true, true},
	}
	require.Len(t, tests, 16, "every 4-bit opcode")
	for _, tc := range tests {
		t.Run(tc.str, func(t *testing.T) {
			assert.Equal(t, tc.str, tc.op.String())
			assert.Equal(t, tc.control, tc.op.IsControl(), "IsControl")
			assert.Equal(t, tc.reserved, tc.op.IsReserved(), "IsReserved")
		})
	}
}

func TestCloseCodeString(t *testing.T) {
	tests := []struct {
		code frame.CloseCode
		str  string
	}{
		{frame.CloseNormal, "normal closure"},
		{frame.CloseGoingAway, "going away"},
		{frame.CloseProtocolError, "protocol error"},
		{frame.CloseUnsupportedData, "unsupported data"},
		{frame.CloseNoStatus, "no status"},
		{frame.CloseAbnormal, "abnormal closure"},
		{frame.CloseInvalidPayload, "invalid payload data"},
		{frame.ClosePolicyViolation, "policy violation"},
		{frame.CloseMessageTooBig, "message too big"},
		{frame.CloseMandatoryExt, "mandatory extension"},
		{frame.CloseInternalError, "internal error"},
		{frame.CloseServiceRestart, "service restart"},
		{frame.CloseTryAgainLater, "try again later"},
		{frame.CloseBadGateway, "bad gateway"},
		{frame.CloseTLSHandshakeError, "TLS handshake error"},
		{1004, "close code 1004"},
		{4000, "close code 4000"},
		{0, "close code 0"},
	}
	for _, tc := range tests {
		t.Run(tc.str, func(t *testing.T) {
			assert.Equal(t, tc.str, tc.code.String())
		})
	}
}

func TestCloseCodeValid(t *testing.T) {
	// RFC 6455 §7.4.1 and §7.4.2: the codes an endpoint may send.
	valid := []frame.CloseCode{
		1000, 1001, 1002, 1003,
		1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
		3000, 3999, 4000, 4999,
	}
	// 1005, 1006 and 1015 must never be sent; 1004 and 1016–2999 are
	// reserved; below 1000 is unused; above 4999 undefined.
	invalid := []frame.CloseCode{0, 1, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535}
	for _, c := range valid {
		assert.True(t, c.Valid(), "%d", c)
	}
	for _, c := range invalid {
		assert.False(t, c.Valid(), "%d", c)
	}
	// Every code in 0..65535 agrees with the ranges.
	for i := range 1 << 16 {
		c := frame.CloseCode(i)
		want := (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999)
		if !assert.Equal(t, want, c.Valid(), "%d", c) {
			break
		}
	}
}

func TestProtocolErrorAs(t *testing.T) {
	_, _, err := frame.ParseHeader([]byte("\x83\x00"))
	wrapped := fmt.Errorf("ws: read header: %w", err)
	var pe *frame.ProtocolError
	require.ErrorAs(t, wrapped, &pe)
	assert.Equal(t, frame.CloseProtocolError, pe.Code)
	assert.Equal(t, "frame: "+pe.Reason, pe.Error())
}
