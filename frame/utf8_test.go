package frame_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"github.com/ab7c482b/websocket/frame"
)

// utf8Tests are streams for the UTF8 validator; the expected answer is
// always utf8.Valid of the whole, which follows RFC 3629 as RFC 6455 §8.1
// requires.
var utf8Tests = []struct {
	name string
	s    string
}{
	// Valid.
	{"empty", ""},
	{"ascii", "Hello, world"},
	{"nul and del", "\x00\x7f"},
	{"two-byte", "h\xc3\xa9llo"},
	{"two-byte bounds", "\xc2\x80\xdf\xbf"},
	{"three-byte euro", "\xe2\x82\xac"},
	{"three-byte bounds", "\xe0\xa0\x80\xef\xbf\xbf"},
	{"last before surrogates U+D7FF", "\xed\x9f\xbf"},
	{"first after surrogates U+E000", "\xee\x80\x80"},
	{"four-byte G clef", "\xf0\x9d\x84\x9e"},
	{"four-byte first U+10000", "\xf0\x90\x80\x80"},
	{"last code point U+10FFFF", "\xf4\x8f\xbf\xbf"},
	{"greek kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"},
	{"mixed", "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"},
	{"emoji run", strings.Repeat("\xf0\x9f\x98\x80", 20)},
	{"long mixed", strings.Repeat("ab\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 40)},

	// Overlong forms.
	{"overlong nul c0 80", "\xc0\x80"},
	{"overlong c1 bf", "\xc1\xbf"},
	{"overlong three-byte", "\xe0\x80\x80"},
	{"overlong three-byte max", "\xe0\x9f\xbf"},
	{"overlong four-byte", "\xf0\x80\x80\x80"},
	{"overlong four-byte max", "\xf0\x8f\xbf\xbf"},
	{"overlong slash in text", "a/\xc0\xafb"},

	// UTF-16 surrogates are not characters.
	{"surrogate U+D800", "\xed\xa0\x80"},
	{"surrogate U+DFFF", "\xed\xbf\xbf"},
	{"surrogate pair", "\xed\xa0\x80\xed\xb0\x80"},
	{"surrogate after text", "kosme\xed\xa0\x80"},

	// Beyond U+10FFFF.
	{"U+110000", "\xf4\x90\x80\x80"},
	{"f4 bf", "\xf4\xbf\xbf\xbf"},
	{"lead f5", "\xf5\x80\x80\x80"},
	{"lead f7", "\xf7\xbf\xbf\xbf"},
	{"five-byte f8", "\xf8\x88\x80\x80\x80"},
	{"six-byte fc", "\xfc\x84\x80\x80\x80\x80"},
	{"fe", "\xfe"},
	{"ff in text", "ab\xffcd"},

	// Stray and missing continuation bytes.
	{"lone continuation", "\x80"},
	{"continuation after ascii", "a\xbf"},
	{"extra continuation", "\xc3\xa9\xa9"},
	{"extra continuation after four", "\xf0\x9f\x98\x80\x80"},
	{"ascii cuts two-byte", "\xc3("},
	{"ascii cuts three-byte", "\xe2\x82("},
	{"ascii cuts four-byte", "\xf0\x9f\x98("},
	{"lead cuts lead", "\xe2\xe2\x82\xac"},

	// Truncated at the end of the stream.
	{"truncated two-byte", "a\xc3"},
	{"truncated three-byte 1", "a\xe2"},
	{"truncated three-byte 2", "a\xe2\x82"},
	{"truncated four-byte 3", "\xf0\x9f\x98"},
	{"truncated after valid text", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x8f\xbf"},
}

// validate feeds pieces of a stream to a fresh validator and returns its
// verdict on the whole.
func validate(v *frame.UTF8, pieces ...string) bool {
	for _, p := range pieces {
		if !v.Write([]byte(p)) {
			v.Reset()
			return false
		}
	}
	return v.Done()
}

func TestUTF8(t *testing.T) {
	var v frame.UTF8 // reused: Done and Reset must leave it clean
	for _, tc := range utf8Tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			want := utf8.Valid([]byte(s))
			assert.Equal(t, want, frame.ValidUTF8([]byte(s)), "ValidUTF8")
			assert.Equal(t, want, validate(&v, s), "whole")

			// Split at every position, in two and in three.
			for i := 0; i <= len(s); i++ {
				assert.Equal(t, want, validate(&v, s[:i], s[i:]), "split at %d", i)
				if len(s) > 40 {
					continue // keep the three-way splits quadratic in short cases
				}
				for j := i; j <= len(s); j++ {
					assert.Equal(t, want, validate(&v, s[:i], s[i:j], s[j:]), "split at %d, %d", i, j)
				}
			}

			// Byte by byte, with an empty piece between bytes.
			var pieces []string
			for i := range len(s) {
				pieces = append(pieces, s[i:i+1], "")
			}
			assert.Equal(t, want, validate(&v, pieces...), "byte by byte")
		})
	}
}

// TestUTF8FailFast feeds a stream byte by byte and checks that Write fails
// on the first byte that no valid UTF-8 could continue from, as Autobahn's
// 6.x "fail fast" cases require, and no earlier.
func TestUTF8FailFast(t *testing.T) {
	tests := []struct {
		name   string
		s      string
		failAt int // index of the byte Write rejects; -1 for none
	}{
		{"above U+10FFFF at second byte", "\xf4\x90", 1},
		{"surrogate at second byte", "\xed\xa0", 1},
		{"overlong three-byte at second byte", "\xe0\x80", 1},
		{"overlong four-byte at second byte", "\xf0\x8f", 1},
		{"lead c0", "\xc0", 0},
		{"lead c1", "\xc1", 0},
		{"lead f5", "\xf5", 0},
		{"lead ff", "\xff", 0},
		{"stray continuation", "ab\x80", 2},
		{"ascii in third place", "\xe2\x82(", 2},
		{"ascii in fourth place", "\xf0\x9f\x98(", 3},
		{"after valid text", "\xce\xba\xe1\xbd\xb9\xed\xa0\x80", 6},
		{"valid prefix of an emoji", "\xf0\x9f", -1},
		{"valid prefix of U+10FFFF", "\xf4\x8f\xbf", -1},
		{"valid prefix of U+D7FF", "\xed\x9f", -1},
		{"valid prefix of U+0800", "\xe0\xa0", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v frame.UTF8
			for i := range len(tc.s) {
				ok := v.Write([]byte{tc.s[i]})
				if i == tc.failAt {
					assert.False(t, ok, "byte %d (%#x) must fail", i, tc.s[i])
					return
				}
				if !assert.True(t, ok, "byte %d (%#x) must pass", i, tc.s[i]) {
					return
				}
			}
			// The whole input passes Write; it is complete only if it is
			// valid UTF-8.
			assert.Equal(t, utf8.ValidString(tc.s), v.Done())

			// In one Write the verdict is the same.
			var w frame.UTF8
			assert.Equal(t, tc.failAt < 0, w.Write([]byte(tc.s)), "one write")
		})
	}
}

// TestUTF8Reset checks that Reset and Done forget a partial sequence.
func TestUTF8Reset(t *testing.T) {
	var v frame.UTF8
	assert.True(t, v.Write([]byte("\xe2\x82")))
	v.Reset()
	assert.True(t, v.Write([]byte("ok")))
	assert.True(t, v.Done())

	assert.True(t, v.Write([]byte("\xf0\x9f")))
	assert.False(t, v.Done(), "ends inside a sequence")
	assert.True(t, v.Write([]byte("fresh")), "Done resets")
	assert.True(t, v.Done())
}
