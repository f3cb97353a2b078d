package handshake

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func extHeader(values ...string) http.Header {
	return http.Header{"Sec-Websocket-Extensions": values}
}

func TestParseExtensions(t *testing.T) {
	t.Parallel()
	deflate := []Extension{{Name: "permessage-deflate", Params: []Param{
		{Name: "client_max_window_bits"},
		{Name: "server_max_window_bits", Value: "10", HasValue: true},
	}}}
	tests := []struct {
		name   string
		values []string
		want   []Extension
	}{
		{"no header", nil, nil},
		{"empty value", []string{""}, nil},
		{"only empty elements", []string{" , ,\t,"}, nil},
		// RFC 6455 §9.1 examples.
		{"deflate-stream", []string{"deflate-stream"}, []Extension{{Name: "deflate-stream"}}},
		{"mux", []string{"mux; max-channels=4; flow-control, deflate-stream"}, []Extension{
			{Name: "mux", Params: []Param{{Name: "max-channels", Value: "4", HasValue: true}, {Name: "flow-control"}}},
			{Name: "deflate-stream"},
		}},
		{"private-extension", []string{"private-extension"}, []Extension{{Name: "private-extension"}}},
		// RFC 6455 §9.1: "foo" and "bar; baz=2" on two lines equal "foo, bar; baz=2".
		{"two lines", []string{"foo", "bar; baz=2"}, []Extension{
			{Name: "foo"},
			{Name: "bar", Params: []Param{{Name: "baz", Value: "2", HasValue: true}}},
		}},
		{"one line", []string{"foo, bar; baz=2"}, []Extension{
			{Name: "foo"},
			{Name: "bar", Params: []Param{{Name: "baz", Value: "2", HasValue: true}}},
		}},
		// RFC 7692 §7: bare and valued parameters.
		{"permessage-deflate", []string{"permessage-deflate; client_max_window_bits; server_max_window_bits=10"}, deflate},
		{"quoted value", []string{`permessage-deflate; client_max_window_bits; server_max_window_bits="10"`}, deflate},
		{"escaped quoted value", []string{`permessage-deflate;client_max_window_bits;server_max_window_bits="1\0"`}, deflate},
		{"whitespace around separators", []string{"permessage-deflate ;\tclient_max_window_bits ; server_max_window_bits = 10 "}, deflate},
		{"empty elements skipped", []string{", a,, b ,"}, []Extension{{Name: "a"}, {Name: "b"}}},
		{"repeated name", []string{"a; x=1, a"}, []Extension{
			{Name: "a", Params: []Param{{Name: "x", Value: "1", HasValue: true}}},
			{Name: "a"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.values != nil {
				h = extHeader(tc.values...)
			}
			got, err := ParseExtensions(h)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseExtensionsMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value string
	}{
		{"parameter without extension", "; x=1"},
		{"trailing semicolon", "a;"},
		{"missing parameter name", "a; =1"},
		{"missing value", "a; x="},
		{"missing value before comma", "a; x=, b"},
		{"space inside name", "a b"},
		{"space inside value", "a; x=1 2"},
		{"value on the extension", "a=1"},
		{"separator in name", "a/b"},
		{"quoted extension name", `"a"`},
		{"empty quoted value", `a; x=""`},
		// RFC 6455 §9.1: the unescaped quoted value must be a token.
		{"quoted value with space", `a; x="1 0"`},
		{"quoted value with comma", `a; x="1,0"`},
		{"unterminated quoted value", `a; x="10`},
		{"escape at the end", `a; x="10\`},
		{"junk after quoted value", `a; x="1"0`},
		{"control byte", "a; x=\x01"},
		{"non-ASCII name", "ä"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseExtensions(extHeader("ok", tc.value))
			require.Error(t, err)
			assert.Nil(t, got)
			assert.Contains(t, err.Error(), "handshake: malformed Sec-WebSocket-Extensions: ")
		})
	}
}

func TestParseExtensionsPathological(t *testing.T) {
	t.Parallel()
	// Each finishes in one pass; a backtracking parser would not.
	const n = 1 << 20
	tests := []struct {
		name  string
		value string
		ok    bool
	}{
		{"many extensions", strings.Repeat("a; b=1, ", n/8), true},
		{"many parameters", "a" + strings.Repeat("; b", n/3), true},
		{"many empty elements", strings.Repeat(",", n), true},
		{"long unterminated quoted-string", `a; b="` + strings.Repeat(`\"`, n/2), false},
		{"long quoted-string of escapes", `a; b="` + strings.Repeat(`\a`, n/2) + `"`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseExtensions(extHeader(tc.value))
			assert.Equal(t, tc.ok, err == nil, "err = %v", err)
		})
	}
}

func TestFormatExtensions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		exts []Extension
		want string
	}{
		{"none", nil, ""},
		{"bare", []Extension{{Name: "deflate-stream"}}, "deflate-stream"},
		// RFC 6455 §9.1 example.
		{"mux", []Extension{
			{Name: "mux", Params: []Param{{Name: "max-channels", Value: "4", HasValue: true}, {Name: "flow-control"}}},
			{Name: "deflate-stream"},
		}, "mux; max-channels=4; flow-control, deflate-stream"},
		{"value ignored without HasValue", []Extension{{Name: "a", Params: []Param{{Name: "x", Value: "1"}}}}, "a; x"},
		{"non-token value is quoted", []Extension{{Name: "a", Params: []Param{{Name: "x", Value: `say "hi" \o/`, HasValue: true}}}}, `a; x="say \"hi\" \\o/"`},
		{"empty value is quoted", []Extension{{Name: "a", Params: []Param{{Name: "x", HasValue: true}}}}, `a; x=""`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, FormatExtensions(tc.exts))
			if len(tc.exts) == 1 {
				assert.Equal(t, tc.want, tc.exts[0].String())
			}
		})
	}
}

func TestExtensionsRoundTrip(t *testing.T) {
	t.Parallel()
	exts := []Extension{
		{Name: "permessage-deflate", Params: []Param{
			{Name: "client_max_window_bits"},
			{Name: "server_max_window_bits", Value: "10", HasValue: true},
		}},
		{Name: "x-webkit-deflate-frame"},
	}
	got, err := ParseExtensions(extHeader(FormatExtensions(exts)))
	require.NoError(t, err)
	assert.Equal(t, exts, got)
}

func BenchmarkParseExtensions(b *testing.B) {
	h := extHeader("permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseExtensions(h); err != nil {
			b.Fatal(err)
		}
	}
}
