package ws_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ab7c482b/websocket/handshake"
	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Payload lengths around the three length encodings of RFC 6455 §5.2
// (7 bits up to 125, 16 bits up to 65535, 64 bits beyond), and a message
// far larger than any buffer.
var echoSizes = []int{0, 125, 126, 127, 65535, 65536, 1 << 20}

func TestEcho(t *testing.T) {
	checkGoroutines(t)
	srv, errs := serve(t, nil, echo)
	c := dial(t, srv, nil)
	for _, typ := range []ws.MessageType{ws.MessageText, ws.MessageBinary} {
		for _, n := range echoSizes {
			t.Run(fmt.Sprintf("%v/%d", typ, n), func(t *testing.T) {
				msg := binaryOfSize(n)
				if typ == ws.MessageText {
					msg = textOfSize(n)
				}
				require.NoError(t, c.Write(t.Context(), typ, msg))
				gotTyp, got, err := c.Read(t.Context())
				require.NoError(t, err)
				assert.Equal(t, typ, gotTyp)
				assert.Equal(t, msg, got)
			})
		}
	}
	require.NoError(t, c.Close(ws.StatusNormalClosure, "done"))
	err := recv(t, errs)
	var ce *ws.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, ws.StatusNormalClosure, ce.Code)
	assert.Equal(t, "done", ce.Reason)
}

func TestSubprotocol(t *testing.T) {
	checkGoroutines(t)
	tests := []struct {
		name           string
		server, client []string
		want           string
	}{
		// RFC 6455 §4.2.2 /subprotocol/: the server picks; this one picks
		// by its own order of preference, not the client's.
		{"server's preference wins", []string{"b", "a"}, []string{"a", "b"}, "b"},
		{"server's first choice", []string{"a", "b"}, []string{"b", "a"}, "a"},
		{"only one in common", []string{"x", "chat"}, []string{"chat", "y"}, "chat"},
		{"none in common", []string{"x"}, []string{"a", "b"}, ""},
		{"server speaks none", nil, []string{"a"}, ""},
		{"client offers none", []string{"a"}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan string, 1)
			srv, errs := serve(t, &ws.AcceptOptions{Subprotocols: tc.server}, func(ctx context.Context, c *ws.Conn) error {
				got <- c.Subprotocol()
				return echo(ctx, c)
			})
			c := dial(t, srv, &ws.DialOptions{Subprotocols: tc.client})
			assert.Equal(t, tc.want, c.Subprotocol(), "client")
			assert.Equal(t, tc.want, recv(t, got), "server")
			require.NoError(t, c.Close(ws.StatusNormalClosure, ""))
			assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(recv(t, errs)))
		})
	}
}

func TestAcceptOrigin(t *testing.T) {
	checkGoroutines(t)
	tests := []struct {
		name     string
		origin   string // "" sends none; "self" sends the server's own
		patterns []string
		wantOK   bool
	}{
		// RFC 6455 §10.2: a server may refuse origins it does not trust;
		// §4.1 item 8: browsers always send Origin, other clients need not.
		{"no Origin", "", nil, true},
		{"same origin", "self", nil, true},
		{"cross origin", "http://evil.example", nil, false},
		{"cross origin with another port", "http://127.0.0.1:1", nil, false},
		{"cross origin allowed by pattern", "https://app.example.com", []string{"*.example.com"}, true},
		{"cross origin allowed by exact pattern", "http://evil.example", []string{"evil.example"}, true},
		{"cross origin not matching pattern", "https://example.org", []string{"*.example.com"}, false},
		{"opaque origin", "null", []string{"*"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, errs := serve(t, &ws.AcceptOptions{OriginPatterns: tc.patterns}, echo)
			h := http.Header{}
			switch tc.origin {
			case "":
			case "self":
				h.Set("Origin", srv.URL)
			default:
				h.Set("Origin", tc.origin)
			}
			c, resp, err := ws.Dial(t.Context(), wsURL(srv), &ws.DialOptions{Header: h})
			if tc.wantOK {
				require.NoError(t, err)
				require.NoError(t, c.Write(t.Context(), ws.MessageText, []byte("hi")))
				_, p, err := c.Read(t.Context())
				require.NoError(t, err)
				assert.Equal(t, "hi", string(p))
				require.NoError(t, c.Close(ws.StatusNormalClosure, ""))
				assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(recv(t, errs)))
				return
			}
			require.Error(t, err)
			require.NotNil(t, resp)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			var herr *handshake.Error
			require.ErrorAs(t, err, &herr, "Dial's error")
			assert.Equal(t, http.StatusForbidden, herr.Status)
			require.ErrorAs(t, recv(t, errs), &herr, "Accept's error")
			assert.Equal(t, http.StatusForbidden, herr.Status)
		})
	}
}

func TestAcceptRefusesBadRequests(t *testing.T) {
	checkGoroutines(t)
	srv, errs := serve(t, nil, echo)
	tests := []struct {
		name       string
		header     map[string]string
		wantStatus int
		wantHeader map[string]string
	}{
		// RFC 6455 §4.2.1: without Upgrade and Connection it is no
		// handshake at all; §4.2.2 says to reply with an HTTP error.
		{"plain HTTP request", nil, http.StatusBadRequest, nil},
		// §4.2.2 /version/ and §4.4: an unsupported version gets 426 and
		// the versions the server speaks.
		{"version 8", map[string]string{
			"Upgrade":               "websocket",
			"Connection":            "Upgrade",
			"Sec-WebSocket-Key":     "dGhlIHNhbXBsZSBub25jZQ==",
			"Sec-WebSocket-Version": "8",
		}, http.StatusUpgradeRequired, map[string]string{"Sec-WebSocket-Version": "13"}},
		{"missing key", map[string]string{
			"Upgrade":               "websocket",
			"Connection":            "Upgrade",
			"Sec-WebSocket-Version": "13",
		}, http.StatusBadRequest, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			assert.Equal(t, tc.wantStatus, resp.StatusCode)
			for k, v := range tc.wantHeader {
				assert.Equal(t, v, resp.Header.Get(k), k)
			}
			var herr *handshake.Error
			require.ErrorAs(t, recv(t, errs), &herr)
			assert.Equal(t, tc.wantStatus, herr.Status)
		})
	}
}

// statusRecorder is middleware's usual ResponseWriter wrapper. Only
// through Unwrap can Accept reach the connection to hijack it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// opaqueRecorder wraps like statusRecorder but hides what it wraps.
type opaqueRecorder struct{ http.ResponseWriter }

func TestAcceptBehindMiddleware(t *testing.T) {
	checkGoroutines(t)
	t.Run("with Unwrap", func(t *testing.T) {
		srv, errs := serveHTTP(t, false, func(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
			c, err := ws.Accept(&statusRecorder{ResponseWriter: w}, r, nil)
			if err != nil {
				return err
			}
			defer c.CloseNow()
			return echo(ctx, c)
		})
		c := dial(t, srv, nil)
		require.NoError(t, c.Write(t.Context(), ws.MessageBinary, []byte{1, 2, 3}))
		_, p, err := c.Read(t.Context())
		require.NoError(t, err)
		assert.Equal(t, []byte{1, 2, 3}, p)
		require.NoError(t, c.Close(ws.StatusNormalClosure, ""))
		assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(recv(t, errs)))
	})
	t.Run("without Unwrap", func(t *testing.T) {
		srv, errs := serveHTTP(t, false, func(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
			c, err := ws.Accept(opaqueRecorder{w}, r, nil)
			if err != nil {
				return err
			}
			c.CloseNow()
			return nil
		})
		_, resp, err := ws.Dial(t.Context(), wsURL(srv), nil)
		require.Error(t, err)
		require.NotNil(t, resp)
		assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		var herr *handshake.Error
		require.ErrorAs(t, recv(t, errs), &herr)
		assert.Equal(t, http.StatusInternalServerError, herr.Status)
	})
}

func TestDialRefused(t *testing.T) {
	checkGoroutines(t)
	srv, _ := serveHTTP(t, false, func(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
		switch r.URL.Path {
		case "/secret":
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "who are you?", http.StatusUnauthorized)
		default:
			http.NotFound(w, r)
		}
		return nil
	})
	tests := []struct {
		path     string
		status   int
		wantBody string
	}{
		// RFC 6455 §4.1: any status but 101 means the handshake failed;
		// §4.2.2 lets the server ask for authentication with 401.
		{"/secret", http.StatusUnauthorized, "who are you?\n"},
		{"/missing", http.StatusNotFound, "404 page not found\n"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			c, resp, err := ws.Dial(t.Context(), wsURL(srv)+tc.path, nil)
			assert.Nil(t, c)
			var herr *handshake.Error
			require.ErrorAs(t, err, &herr)
			assert.Equal(t, tc.status, herr.Status)
			require.NotNil(t, resp)
			assert.Equal(t, tc.status, resp.StatusCode)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.wantBody, string(body))
			resp.Body.Close()
		})
	}
}

func TestDialBasicAuth(t *testing.T) {
	checkGoroutines(t)
	type creds struct {
		user, pass string
		ok         bool
	}
	got := make(chan creds, 1)
	srv, errs := serveHTTP(t, false, func(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
		user, pass, ok := r.BasicAuth()
		got <- creds{user, pass, ok}
		c, err := ws.Accept(w, r, nil)
		if err != nil {
			return err
		}
		defer c.CloseNow()
		return echo(ctx, c)
	})
	// RFC 6455 §10.5: the handshake may carry HTTP authentication; user
	// info in the URL becomes Basic credentials.
	u := "ws://alice:open%20sesame@" + strings.TrimPrefix(srv.URL, "http://")
	c, _, err := ws.Dial(t.Context(), u, nil)
	require.NoError(t, err)
	defer c.CloseNow()
	assert.Equal(t, creds{"alice", "open sesame", true}, recv(t, got))
	require.NoError(t, c.Close(ws.StatusNormalClosure, ""))
	assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(recv(t, errs)))
}

func TestDialTLS(t *testing.T) {
	checkGoroutines(t)
	srv, errs := serveHTTP(t, true, func(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
		c, err := ws.Accept(w, r, nil)
		if err != nil {
			return err
		}
		defer c.CloseNow()
		return echo(ctx, c)
	})
	require.True(t, strings.HasPrefix(wsURL(srv), "wss://"))

	t.Run("trusted", func(t *testing.T) {
		tlsConfig := srv.Client().Transport.(*http.Transport).TLSClientConfig
		c := dial(t, srv, &ws.DialOptions{TLSConfig: tlsConfig})
		for _, n := range []int{0, 126, 65536} {
			msg := textOfSize(n)
			require.NoError(t, c.Write(t.Context(), ws.MessageText, msg))
			_, p, err := c.Read(t.Context())
			require.NoError(t, err)
			assert.Equal(t, msg, p)
		}
		require.NoError(t, c.Close(ws.StatusNormalClosure, ""))
		assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(recv(t, errs)))
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		// Without the test server's roots the certificate is refused,
		// which shows that TLSConfig above was used.
		_, _, err := ws.Dial(t.Context(), wsURL(srv), nil)
		require.Error(t, err)
		var herr *handshake.Error
		assert.False(t, errors.As(err, &herr), "a TLS failure is no HTTP refusal: %v", err)
	})
}
