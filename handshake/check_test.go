package handshake

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newHandshakeRequest returns the client handshake of RFC 6455 §1.3.
func newHandshakeRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://server.example.com/chat", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	r.Header.Set("Sec-WebSocket-Version", "13")
	return r
}

// requireStatus checks that err is an *Error with the given status and a
// reason containing reason, or nil when status is 0.
func requireStatus(t *testing.T, status int, reason string, err error) {
	t.Helper()
	if status == 0 {
		require.NoError(t, err)
		return
	}
	var herr *Error
	require.ErrorAs(t, err, &herr)
	assert.Equal(t, status, herr.Status)
	assert.Contains(t, herr.Reason, reason)
}

func TestCheckRequest(t *testing.T) {
	t.Parallel()
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }
	tests := []struct {
		name   string
		modify func(r *http.Request)
		status int // 0: accepted
		reason string
	}{
		{"RFC 6455 §1.3 example", func(*http.Request) {}, 0, ""},
		// RFC 6455 §4.1 item 7 example key; its padding bits are not zero.
		{"RFC 6455 §4.1 example key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEC==") }, 0, ""},
		// RFC 6455 §4.2.1 items 3 and 4: case-insensitive tokens in lists.
		{"Upgrade: WebSocket", func(r *http.Request) { r.Header.Set("Upgrade", "WebSocket") }, 0, ""},
		{"Upgrade list", func(r *http.Request) { r.Header.Set("Upgrade", "h2c, websocket") }, 0, ""},
		{"Upgrade on two lines", func(r *http.Request) { r.Header["Upgrade"] = []string{"h2c", "websocket"} }, 0, ""},
		{"Connection: keep-alive, Upgrade", func(r *http.Request) { r.Header.Set("Connection", "keep-alive, Upgrade") }, 0, ""},
		{"Connection: UPGRADE", func(r *http.Request) { r.Header.Set("Connection", "UPGRADE") }, 0, ""},
		{"Connection on two lines", func(r *http.Request) { r.Header["Connection"] = []string{"keep-alive", " upgrade\t"} }, 0, ""},
		{"Connection with empty elements", func(r *http.Request) { r.Header.Set("Connection", ",, keep-alive,,Upgrade,") }, 0, ""},
		{"key with whitespace", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", " dGhlIHNhbXBsZSBub25jZQ==\t") }, 0, ""},
		{"version with whitespace", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", " 13 ") }, 0, ""},
		{"HTTP/2.0", func(r *http.Request) { r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0 }, 0, ""},

		// RFC 6455 §4.2.1 item 1: GET, HTTP/1.1 or later.
		{"POST", func(r *http.Request) { r.Method = http.MethodPost }, 405, `method "POST" not allowed`},
		{"HEAD", func(r *http.Request) { r.Method = http.MethodHead }, 405, "want GET"},
		{"HTTP/1.0", func(r *http.Request) { r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.0", 1, 0 }, 400, "HTTP/1.1 or later"},
		{"body", func(r *http.Request) { r.ContentLength = 5 }, 400, "must not have a body"},
		{"chunked body", func(r *http.Request) { r.ContentLength, r.TransferEncoding = -1, []string{"chunked"} }, 400, "must not have a body"},
		// Item 2.
		{"no Host", func(r *http.Request) { r.Host = "" }, 400, "missing Host"},
		// Item 3.
		{"no Upgrade", func(r *http.Request) { r.Header.Del("Upgrade") }, 400, `Upgrade header does not contain "websocket"`},
		{"Upgrade: websocketx", func(r *http.Request) { r.Header.Set("Upgrade", "websocketx") }, 400, "Upgrade header"},
		{"Upgrade: web socket", func(r *http.Request) { r.Header.Set("Upgrade", "web socket") }, 400, "Upgrade header"},
		// Item 4.
		{"no Connection", func(r *http.Request) { r.Header.Del("Connection") }, 400, `Connection header does not contain "Upgrade"`},
		{"Connection: keep-alive", func(r *http.Request) { r.Header.Set("Connection", "keep-alive") }, 400, "Connection header"},
		{"Connection: upgrader", func(r *http.Request) { r.Header.Set("Connection", "upgrader") }, 400, "Connection header"},
		// Item 6, and §4.2.2 /version/: 426 for a version we do not speak.
		{"no version", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") }, 426, "missing Sec-WebSocket-Version"},
		{"version 8", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }, 426, `unsupported Sec-WebSocket-Version "8"; want 13`},
		{"version list", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "13, 8") }, 426, "unsupported"},
		{"two version lines", func(r *http.Request) { r.Header["Sec-Websocket-Version"] = []string{"13", "13"} }, 400, "more than one Sec-WebSocket-Version"},
		{"version checked before key", func(r *http.Request) {
			r.Header.Set("Sec-WebSocket-Version", "8")
			r.Header.Del("Sec-WebSocket-Key")
		}, 426, "want 13"},
		// Item 5.
		{"no key", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Key") }, 400, "missing Sec-WebSocket-Key"},
		{"two keys", func(r *http.Request) { r.Header.Add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==") }, 400, "more than one Sec-WebSocket-Key"},
		{"empty key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "") }, 400, "decodes to 0 bytes"},
		{"15-byte key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", b64(15)) }, 400, "decodes to 15 bytes; want 16"},
		{"17-byte key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", b64(17)) }, 400, "decodes to 17 bytes; want 16"},
		{"invalid base64", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!==") }, 400, "not valid base64"},
		{"unpadded key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ") }, 400, "not valid base64"},
		{"key with newline", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25j\nZQ==") }, 400, "not valid base64"},
		{"long key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", b64(1000)) }, 400, "too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newHandshakeRequest()
			tc.modify(r)
			requireStatus(t, tc.status, tc.reason, CheckRequest(r))
		})
	}
}

func TestCheckRequestPathological(t *testing.T) {
	t.Parallel()
	// Linear scans: these finish at once. A quadratic scan would not.
	const n = 1 << 20
	tests := []struct {
		name   string
		modify func(r *http.Request)
		status int
	}{
		{"a megabyte of commas in Connection", func(r *http.Request) { r.Header.Set("Connection", strings.Repeat(",", n)) }, 400},
		{"a megabyte of spaces in Upgrade", func(r *http.Request) { r.Header.Set("Upgrade", strings.Repeat(" ", n)) }, 400},
		{"many Connection lines", func(r *http.Request) { r.Header["Connection"] = append(make([]string, n/8), "upgrade") }, 0},
		{"a megabyte key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", strings.Repeat("A", n)) }, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newHandshakeRequest()
			tc.modify(r)
			requireStatus(t, tc.status, "", CheckRequest(r))
		})
	}
}

func TestCheckOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		host     string
		origin   []string // nil: no Origin header
		patterns []string
		status   int // 0: accepted
		reason   string
	}{
		// RFC 6455 §4.2.1 item 7: non-browser clients need not send Origin.
		{"no Origin", "example.com", nil, nil, 0, ""},
		{"same host", "example.com", []string{"http://example.com"}, nil, 0, ""},
		{"same host, https", "example.com", []string{"https://example.com"}, nil, 0, ""},
		{"same host, other case", "Example.COM", []string{"http://EXAMPLE.com"}, nil, 0, ""},
		{"same host and port", "example.com:8080", []string{"http://example.com:8080"}, nil, 0, ""},
		// RFC 6455 §10.2: an unexpected origin gets 403.
		{"different host", "example.com", []string{"http://evil.com"}, nil, 403, `origin "http://evil.com" not allowed`},
		{"suffix is not the host", "example.com", []string{"http://example.com.evil.com"}, nil, 403, "not allowed"},
		{"Origin has a port, Host none", "example.com", []string{"http://example.com:8080"}, nil, 403, "not allowed"},
		{"Host has a port, Origin none", "example.com:8080", []string{"http://example.com"}, nil, 403, "not allowed"},
		{"ports differ", "example.com:8080", []string{"http://example.com:9090"}, nil, 403, "not allowed"},
		{"wildcard subdomain", "api.example.com", []string{"https://app.example.com"}, []string{"*.example.com"}, 0, ""},
		{"wildcard is not the apex", "api.example.net", []string{"https://example.com"}, []string{"*.example.com"}, 403, "not allowed"},
		{"pattern is case-insensitive", "api.example.net", []string{"https://App.Example.Com"}, []string{"*.EXAMPLE.com"}, 0, ""},
		{"any port on localhost", "api.example.net", []string{"http://localhost:3000"}, []string{"localhost:*"}, 0, ""},
		{"port pattern needs a port", "api.example.net", []string{"http://localhost"}, []string{"localhost:*"}, 403, "not allowed"},
		{"second pattern matches", "api.example.net", []string{"http://b.test"}, []string{"a.test", "b.test"}, 0, ""},
		{"no pattern matches", "api.example.net", []string{"http://c.test"}, []string{"a.test", "b.test"}, 403, "not allowed"},
		{"malformed pattern", "api.example.net", []string{"http://c.test"}, []string{"["}, 403, "malformed origin pattern"},
		// RFC 6454 §7: sandboxed documents send the opaque origin "null".
		{"null", "example.com", []string{"null"}, nil, 403, "malformed Origin"},
		{"no scheme", "example.com", []string{"example.com"}, nil, 403, "malformed Origin"},
		{"no host", "example.com", []string{"http://"}, nil, 403, "malformed Origin"},
		{"unparsable", "example.com", []string{"http://exa mple.com"}, nil, 403, "malformed Origin"},
		{"empty", "example.com", []string{""}, nil, 403, "malformed Origin"},
		{"two Origin headers", "example.com", []string{"http://example.com", "http://example.com"}, nil, 403, "more than one Origin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newHandshakeRequest()
			r.Host = tc.host
			if tc.origin != nil {
				r.Header["Origin"] = tc.origin
			}
			requireStatus(t, tc.status, tc.reason, CheckOrigin(r, tc.patterns))
		})
	}
}

func TestSubprotocols(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []string
		want   []string
	}{
		{"none", nil, nil},
		{"one", []string{"chat"}, []string{"chat"}},
		// RFC 6455 §1.9 example.
		{"comma list", []string{"chat, superchat"}, []string{"chat", "superchat"}},
		{"several lines", []string{"a", "b,c"}, []string{"a", "b", "c"}},
		{"whitespace and empty elements", []string{" a ,\t, b,", ""}, []string{"a", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.values != nil {
				h["Sec-Websocket-Protocol"] = tc.values
			}
			assert.Equal(t, tc.want, Subprotocols(h))
		})
	}
}

func TestCheckRequestErrorType(t *testing.T) {
	t.Parallel()
	r := newHandshakeRequest()
	r.Method = http.MethodPut
	err := CheckRequest(r)
	var herr *Error
	assert.True(t, errors.As(err, &herr))
	assert.Equal(t, `handshake: 405 Method Not Allowed: method "PUT" not allowed; want GET`, err.Error())
}
