package handshake

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fuzzLines turns a fuzzed string into header lines: "" is no header, and
// each "\n" starts another line.
func fuzzLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// refHasToken is hasToken written the obvious way.
func refHasToken(values []string, token string) bool {
	for _, v := range values {
		for _, elem := range strings.Split(v, ",") {
			if strings.EqualFold(strings.Trim(elem, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// refAccepts is RFC 6455 §4.2.1 written the obvious way.
func refAccepts(r *http.Request) bool {
	version, key := r.Header["Sec-Websocket-Version"], r.Header["Sec-Websocket-Key"]
	if r.Method != "GET" || !(r.ProtoMajor > 1 || r.ProtoMajor == 1 && r.ProtoMinor >= 1) || r.Host == "" ||
		!refHasToken(r.Header["Upgrade"], "websocket") || !refHasToken(r.Header["Connection"], "upgrade") ||
		len(version) != 1 || strings.Trim(version[0], " \t") != "13" || len(key) != 1 {
		return false
	}
	k := strings.Trim(key[0], " \t")
	raw, err := base64.StdEncoding.DecodeString(k)
	return err == nil && len(raw) == 16 && !strings.ContainsAny(k, "\r\n")
}

func FuzzCheckRequest(f *testing.F) {
	// RFC 6455 §1.3 example handshake: accepted.
	f.Add("GET", 1, 1, "server.example.com", "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13")
	// RFC 6455 §4.1 example key, lists over several lines, odd case: accepted.
	f.Add("GET", 1, 1, "h", "h2c\n WebSocket", "keep-alive, UPGRADE", "AQIDBAUGBwgJCgsMDQ4PEC==", " 13\t")
	// Non-GET method: 405.
	f.Add("POST", 1, 1, "h", "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13")
	// HTTP/1.0: 400.
	f.Add("GET", 1, 0, "h", "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13")
	// Version 8 on a hybi-era client: 426.
	f.Add("GET", 1, 1, "h", "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "8")
	// Two version lines: 400.
	f.Add("GET", 1, 1, "h", "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13\n13")
	// 15-byte key: 400.
	f.Add("GET", 1, 1, "h", "websocket", "Upgrade", "AAAAAAAAAAAAAAAAAAAA", "13")
	// Key with a CR inside, which the base64 decoder would skip: 400.
	f.Add("GET", 1, 1, "h", "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25j\rZQ==", "13")
	// Token as a substring only, and empty list elements: 400.
	f.Add("GET", 1, 1, "h", "websocket2", ",,,upgrade-insecure,", "dGhlIHNhbXBsZSBub25jZQ==", "13")
	// Missing Host: 400.
	f.Add("GET", 2, 0, "", "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13")

	f.Fuzz(func(t *testing.T, method string, major, minor int, host, upgrade, connection, key, version string) {
		r := &http.Request{
			Method:     method,
			Proto:      fmt.Sprintf("HTTP/%d.%d", major, minor),
			ProtoMajor: major,
			ProtoMinor: minor,
			Host:       host,
			Header: http.Header{
				"Upgrade":               fuzzLines(upgrade),
				"Connection":            fuzzLines(connection),
				"Sec-Websocket-Key":     fuzzLines(key),
				"Sec-Websocket-Version": fuzzLines(version),
			},
		}
		err := CheckRequest(r)
		require.Equal(t, refAccepts(r), err == nil, "err = %v", err)
		if err == nil {
			assert.Len(t, AcceptKey(trimOWS(r.Header["Sec-Websocket-Key"][0])), 28)
			return
		}
		var herr *Error
		require.True(t, errors.As(err, &herr), "%T is not *Error", err)
		assert.Contains(t, []int{400, 405, 426}, herr.Status)
		assert.Equal(t, method != "GET", herr.Status == 405)
		assert.NotEmpty(t, herr.Reason)
		// quote keeps 32 bytes of peer input, at most 133 bytes escaped.
		assert.LessOrEqual(t, len(herr.Reason), 200, "reasons quote peer input only briefly")
	})
}

func FuzzParseExtensions(f *testing.F) {
	// RFC 6455 §9.1 examples, the second split over two lines.
	f.Add("deflate-stream")
	f.Add("mux; max-channels=4; flow-control\ndeflate-stream")
	// RFC 7692 offer with a bare and a valued parameter.
	f.Add("permessage-deflate; client_max_window_bits; server_max_window_bits=10")
	// Quoted value with an escape, and whitespace everywhere.
	f.Add(" a ;\tb = \"1\\0\" , c ")
	// Empty list elements only.
	f.Add(", ,\t,")
	// Quoted value that is not a token after unescaping: error.
	f.Add(`a; b="x y"`)
	// Unterminated quoted-string ending in a backslash: error.
	f.Add(`a; b="x\`)
	// Parameter without a name: error.
	f.Add("a; =1")

	f.Fuzz(func(t *testing.T, value string) {
		exts, err := ParseExtensions(http.Header{"Sec-Websocket-Extensions": fuzzLines(value)})
		if err != nil {
			require.Nil(t, exts)
			require.True(t, strings.HasPrefix(err.Error(), "handshake: malformed Sec-WebSocket-Extensions: "), err.Error())
			return
		}
		for _, e := range exts {
			require.True(t, isToken(e.Name), "name %q", e.Name)
			for _, p := range e.Params {
				require.True(t, isToken(p.Name), "parameter %q", p.Name)
				// RFC 6455 §9.1: values are tokens once unquoted.
				require.Equal(t, p.HasValue, isToken(p.Value), "value %q", p.Value)
			}
		}
		formatted := FormatExtensions(exts)
		again, err := ParseExtensions(http.Header{"Sec-Websocket-Extensions": {formatted}})
		require.NoError(t, err, "reparsing %q", formatted)
		require.Equal(t, exts, again)
		require.Equal(t, formatted, FormatExtensions(again))
	})
}
