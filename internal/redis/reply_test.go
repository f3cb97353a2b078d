package redis

import (
	"bufio"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replyCases pair a canonical wire form with its reply; the tests read
// each one and write it back.
var replyCases = []struct {
	name  string
	wire  string
	reply Reply
}{
	{"simple string", "+OK\r\n", Reply{Kind: KindString, Str: "OK"}},
	{"empty simple string", "+\r\n", Reply{Kind: KindString}},
	{"error", "-ERR unknown command\r\n", Reply{Kind: KindError, Str: "ERR unknown command"}},
	{"integer", ":42\r\n", Reply{Kind: KindInt, Int: 42}},
	{"negative integer", ":-9223372036854775808\r\n", Reply{Kind: KindInt, Int: -1 << 63}},
	{"bulk", "$5\r\nhello\r\n", Reply{Kind: KindBulk, Str: "hello"}},
	{"empty bulk", "$0\r\n\r\n", Reply{Kind: KindBulk}},
	{"bulk with CRLF inside", "$4\r\n\r\n\r\n\r\n", Reply{Kind: KindBulk, Str: "\r\n\r\n"}},
	{"null bulk", "$-1\r\n", Reply{Kind: KindNull}},
	{"empty array", "*0\r\n", Reply{Kind: KindArray, Elems: []Reply{}}},
	{"array", "*3\r\n:1\r\n$1\r\na\r\n$-1\r\n", Reply{Kind: KindArray, Elems: []Reply{
		{Kind: KindInt, Int: 1}, {Kind: KindBulk, Str: "a"}, {Kind: KindNull},
	}}},
	{"XRANGE entry", "*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nd\r\n$2\r\n{}\r\n", Reply{Kind: KindArray, Elems: []Reply{
		{Kind: KindArray, Elems: []Reply{
			{Kind: KindBulk, Str: "1-0"},
			{Kind: KindArray, Elems: []Reply{{Kind: KindBulk, Str: "d"}, {Kind: KindBulk, Str: "{}"}}},
		}},
	}}},
}

func TestReadReply(t *testing.T) {
	for _, tc := range replyCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, short := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r },
				iotest.OneByteReader,
				iotest.HalfReader,
			} {
				r := bufio.NewReaderSize(short(strings.NewReader(tc.wire+"+next\r\n")), 64)
				got, err := ReadReply(r)
				require.NoError(t, err)
				assert.Equal(t, tc.reply, got)
				next, err := ReadReply(r)
				require.NoError(t, err)
				assert.Equal(t, "next", next.Str, "the reply's bytes, no more, were consumed")
			}
			assert.Equal(t, tc.wire, string(appendReply(nil, tc.reply)), "the reference encoder agrees")
		})
	}
}

func TestReadReplyErrors(t *testing.T) {
	tests := []struct {
		name, wire string
		want       error // nil: any ErrProtocol
	}{
		{"empty", "", io.EOF},
		{"cut in a line", "+OK", io.ErrUnexpectedEOF},
		{"cut in a bulk", "$5\r\nhel", io.ErrUnexpectedEOF},
		{"cut before a bulk's CRLF", "$5\r\nhello", io.ErrUnexpectedEOF},
		{"cut in an array", "*2\r\n:1\r\n", io.ErrUnexpectedEOF},
		{"bare LF", "+OK\n", nil},
		{"no type", "\r\n", nil},
		{"unknown type", "!3\r\nabc\r\n", nil},
		{"bad integer", ":12a\r\n", nil},
		{"integer overflow", ":9223372036854775808\r\n", nil},
		{"bulk length below -1", "$-2\r\n", nil},
		{"bulk over MaxBulk", "$536870913\r\n", nil},
		{"bulk not followed by CRLF", "$1\r\nab\r\n", nil},
		{"array length not a number", "*x\r\n", nil},
		{"line longer than the buffer", "+" + strings.Repeat("a", readBufferSize) + "\r\n", nil},
		{"nested too deep", strings.Repeat("*1\r\n", MaxDepth+1) + ":1\r\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadReply(bufio.NewReaderSize(strings.NewReader(tc.wire), readBufferSize))
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
				return
			}
			assert.ErrorIs(t, err, ErrProtocol)
		})
	}
	// MaxDepth levels are fine.
	_, err := ReadReply(bufio.NewReader(strings.NewReader(strings.Repeat("*1\r\n", MaxDepth) + ":1\r\n")))
	assert.NoError(t, err)
}

func TestAppendCommand(t *testing.T) {
	assert.Equal(t, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n", string(AppendCommand(nil, "SET", "k", "")))
	assert.Equal(t, "*0\r\n", string(AppendCommand(nil)))
	// A command is an array of bulk strings, which ReadReply reads back.
	got, err := ReadReply(bufio.NewReader(strings.NewReader(string(AppendCommand(nil, "GET", "a\r\nb")))))
	require.NoError(t, err)
	assert.Equal(t, Reply{Kind: KindArray, Elems: []Reply{{Kind: KindBulk, Str: "GET"}, {Kind: KindBulk, Str: "a\r\nb"}}}, got)
}

func TestReplyAccessors(t *testing.T) {
	s, err := Reply{Kind: KindBulk, Str: "x"}.Text()
	assert.NoError(t, err)
	assert.Equal(t, "x", s)
	_, err = Reply{Kind: KindNull}.Text()
	assert.ErrorContains(t, err, "got null")
	n, err := Reply{Kind: KindInt, Int: 7}.Integer()
	assert.NoError(t, err)
	assert.Equal(t, int64(7), n)
	_, err = Reply{Kind: KindString, Str: "7"}.Integer()
	assert.ErrorContains(t, err, "got simple string")
	assert.Equal(t, "NOSCRIPT", Error("NOSCRIPT No matching script").Code())
	assert.Equal(t, "redis: ERR x", Error("ERR x").Error())
}
