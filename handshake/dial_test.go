package handshake

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

// mustNotDial is a NetDialContext for calls that must fail before dialing.
func mustNotDial(t *testing.T) func(context.Context, string, string) (net.Conn, error) {
	return func(context.Context, string, string) (net.Conn, error) {
		t.Error("Dial opened a connection")
		return nil, net.ErrClosed
	}
}

// rawServer starts a server whose handler hijacks the connection, writes
// respond(key) in one write, where key is the request's Sec-WebSocket-Key,
// and closes the connection.
func rawServer(t *testing.T, respond func(key string) string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		if brw.Reader.Buffered() > 0 {
			t.Error("client sent data before the response")
		}
		io.WriteString(conn, respond(r.Header.Get("Sec-WebSocket-Key")))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// response101 is a valid 101 for key, plus extra header lines.
func response101(key string, extra ...string) string {
	return "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + AcceptKey(key) + "\r\n" +
		strings.Join(extra, "") + "\r\n"
}

func TestDialBasicAuth(t *testing.T) {
	t.Parallel()
	srv, outcomes := upgradeServer(t, nil, nil)
	addr := srv.Listener.Addr().String()
	res, resp, err := Dial(t.Context(), "ws://alice:p%40ss@"+addr+"/room?id=7", nil)
	require.NoError(t, err)
	res.Conn.Close()
	server := recv(t, outcomes)
	require.NoError(t, server.err)
	server.res.Conn.Close()

	user, password, ok := server.req.BasicAuth()
	assert.True(t, ok)
	assert.Equal(t, "alice", user)
	assert.Equal(t, "p@ss", password)
	// RFC 6455 §4.1 items 3 and 4: the resource name and host, never the
	// user info.
	assert.Equal(t, "/room?id=7", server.req.RequestURI)
	assert.Equal(t, addr, server.req.Host)
	assert.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:p@ss")), resp.Request.Header.Get("Authorization"))
}

func TestDialRequest(t *testing.T) {
	t.Parallel()
	srv, outcomes := upgradeServer(t, nil, nil)
	addr := srv.Listener.Addr().String()
	// http:// is an alias for ws://, and the empty path becomes "/".
	res, _, err := Dial(t.Context(), "http://"+addr, &DialOptions{
		Header:       http.Header{"Origin": {"http://" + addr}, "X-Multi": {"1", "2"}, "x-lower": {"v"}},
		Subprotocols: []string{"chat", "superchat"},
		Extensions:   []Extension{{Name: "permessage-deflate", Params: []Param{{Name: "client_max_window_bits"}}}},
	})
	require.NoError(t, err)
	res.Conn.Close()
	server := recv(t, outcomes)
	require.NoError(t, server.err)
	server.res.Conn.Close()

	r := server.req
	assert.Equal(t, "/", r.RequestURI)
	assert.Equal(t, "HTTP/1.1", r.Proto)
	assert.Equal(t, []string{"websocket"}, r.Header["Upgrade"])
	assert.Equal(t, []string{"Upgrade"}, r.Header["Connection"])
	assert.Equal(t, []string{"13"}, r.Header["Sec-Websocket-Version"])
	assert.NoError(t, checkKey(r.Header.Get("Sec-WebSocket-Key")))
	assert.Equal(t, []string{"chat, superchat"}, r.Header["Sec-Websocket-Protocol"])
	assert.Equal(t, []string{"permessage-deflate; client_max_window_bits"}, r.Header["Sec-Websocket-Extensions"])
	assert.Equal(t, []string{"http://" + addr}, r.Header["Origin"])
	assert.Equal(t, []string{"1", "2"}, r.Header["X-Multi"])
	assert.Equal(t, []string{"v"}, r.Header["X-Lower"])
	assert.Empty(t, r.Header["Authorization"])
}

func TestDialCookies(t *testing.T) {
	t.Parallel()
	srv, outcomes := upgradeServer(t, &UpgradeOptions{Header: http.Header{"Set-Cookie": {"token=xyz; Path=/"}}}, nil)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: "abc"}})

	res, _, err := Dial(t.Context(), wsURL(srv), &DialOptions{Jar: jar, Header: http.Header{"Cookie": {"pref=dark"}}})
	require.NoError(t, err)
	res.Conn.Close()
	server := recv(t, outcomes)
	require.NoError(t, server.err)
	server.res.Conn.Close()

	for name, want := range map[string]string{"session": "abc", "pref": "dark"} {
		c, err := server.req.Cookie(name)
		if assert.NoError(t, err, name) {
			assert.Equal(t, want, c.Value)
		}
	}
	var stored []string
	for _, c := range jar.Cookies(u) {
		stored = append(stored, c.String())
	}
	assert.ElementsMatch(t, []string{"session=abc", "token=xyz"}, stored)
}

func TestDialInvalidOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		url    string
		opts   DialOptions
		reason string
	}{
		{"scheme", "ftp://example.com/", DialOptions{}, `unsupported URL scheme "ftp"`},
		{"no host", "ws:///chat", DialOptions{}, "has no host"},
		{"port only", "ws://:80/chat", DialOptions{}, "has no host"},
		// RFC 6455 §3: no fragments in WebSocket URIs.
		{"fragment", "ws://example.com/chat#top", DialOptions{}, "must not have a fragment"},
		{"empty fragment", "ws://example.com/chat#", DialOptions{}, "must not have a fragment"},
		{"unparsable", "ws://exa mple.com/", DialOptions{}, "invalid character"},
		{"userinfo and Authorization", "ws://a:b@example.com/", DialOptions{Header: http.Header{"Authorization": {"Bearer x"}}}, "both URL user info and an Authorization header"},
		{"bad header name", "ws://example.com/", DialOptions{Header: http.Header{"Bad Name": {"x"}}}, `invalid header name "Bad Name"`},
		{"header value with CRLF", "ws://example.com/", DialOptions{Header: http.Header{"X-A": {"1\r\nX-B: 2"}}}, "invalid value for header X-A"},
		// RFC 6455 §4.1 item 10: distinct tokens.
		{"subprotocol not a token", "ws://example.com/", DialOptions{Subprotocols: []string{"a b"}}, `invalid or repeated subprotocol "a b"`},
		{"empty subprotocol", "ws://example.com/", DialOptions{Subprotocols: []string{""}}, `invalid or repeated subprotocol ""`},
		{"repeated subprotocol", "ws://example.com/", DialOptions{Subprotocols: []string{"a", "b", "a"}}, `invalid or repeated subprotocol "a"`},
		{"extension name", "ws://example.com/", DialOptions{Extensions: []Extension{{Name: "a b"}}}, "invalid extension offer"},
		{"extension parameter name", "ws://example.com/", DialOptions{Extensions: []Extension{{Name: "a", Params: []Param{{Name: "x=y"}}}}}, "invalid extension offer"},
		{"extension parameter value", "ws://example.com/", DialOptions{Extensions: []Extension{{Name: "a", Params: []Param{{Name: "x", Value: "\n", HasValue: true}}}}}, "invalid extension parameter value"},
		{"proxy scheme", "ws://example.com/", DialOptions{Proxy: http.ProxyURL(&url.URL{Scheme: "socks5", Host: "proxy:1080"})}, `unsupported proxy scheme "socks5"`},
	}
	// The handshake's own headers may not be overridden.
	for _, name := range []string{"Host", "Upgrade", "connection", "Sec-WebSocket-Key", "sec-websocket-version",
		"Sec-WebSocket-Accept", "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions", "Content-Length", "Transfer-Encoding", "Trailer"} {
		tests = append(tests, struct {
			name   string
			url    string
			opts   DialOptions
			reason string
		}{"header " + name, "ws://example.com/", DialOptions{Header: http.Header{name: {"x"}}}, "is set by the handshake itself"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.NetDialContext = mustNotDial(t)
			if opts.Proxy == nil {
				opts.Proxy = noProxy
			}
			res, resp, err := Dial(t.Context(), tc.url, &opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.reason)
			assert.True(t, strings.HasPrefix(err.Error(), "handshake: "), err.Error())
			assert.Nil(t, res)
			assert.Nil(t, resp)
		})
	}
}

func TestDialRefused(t *testing.T) {
	t.Parallel()
	var followed atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/private":
			w.Header().Set("WWW-Authenticate", `Basic realm="chat"`)
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, "credentials required")
		case "/moved":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/elsewhere":
			followed.Add(1)
		case "/big":
			http.Error(w, strings.Repeat("x", 5000), http.StatusForbidden)
		default:
			http.Error(w, "no such room", http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)

	tests := []struct {
		path   string
		status int
		body   string
		reason string
	}{
		// RFC 6455 §4.2.2 step 2: authentication with 401.
		{"/private", 401, "credentials required", "server refused the handshake"},
		{"/missing", 404, "no such room\n", "server refused the handshake"},
		// RFC 6455 §4.1: clients are not required to follow redirects.
		{"/moved", 302, `<a href="/elsewhere">Found</a>.` + "\n\n", `server redirected to "/elsewhere"; redirects are not followed`},
		// Only the first KiB of the body is kept.
		{"/big", 403, strings.Repeat("x", 1024), "server refused the handshake"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			res, resp, err := Dial(t.Context(), wsURL(srv)+tc.path, &DialOptions{Header: http.Header{"Authorization": {"Basic c2VjcmV0"}}})
			assert.Nil(t, res)
			var herr *Error
			require.ErrorAs(t, err, &herr)
			assert.Equal(t, tc.status, herr.Status)
			assert.Equal(t, tc.reason, herr.Reason)
			require.NotNil(t, resp)
			assert.Equal(t, tc.status, resp.StatusCode)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.body, string(body))
			assert.NoError(t, resp.Body.Close())
		})
	}
	assert.Zero(t, followed.Load(), "a redirect was followed")
}

func TestDialBadResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    DialOptions
		respond func(key string) string
		reason  string // "" means the handshake succeeds
	}{
		{"valid", DialOptions{}, func(k string) string { return response101(k) }, ""},
		{"Upgrade: WebSocket", DialOptions{}, func(k string) string {
			return strings.Replace(response101(k), "websocket", "WebSocket", 1)
		}, ""},
		{"subprotocol and extension as offered", DialOptions{Subprotocols: []string{"a", "b"}, Extensions: []Extension{{Name: "x"}, {Name: "y"}}},
			func(k string) string {
				return response101(k, "Sec-WebSocket-Protocol: b\r\n", "Sec-WebSocket-Extensions: y; p=1\r\n", "Sec-WebSocket-Extensions: x\r\n")
			}, ""},
		// RFC 6455 §4.1, validating the server's response, item 2.
		{"no Upgrade", DialOptions{}, func(k string) string {
			return strings.Replace(response101(k), "Upgrade: websocket\r\n", "", 1)
		}, `response Upgrade header is not "websocket"`},
		{"Upgrade: h2c", DialOptions{}, func(k string) string {
			return strings.Replace(response101(k), "Upgrade: websocket", "Upgrade: h2c", 1)
		}, `response Upgrade header is not "websocket"`},
		// Item 3.
		{"no Connection", DialOptions{}, func(k string) string {
			return strings.Replace(response101(k), "Connection: Upgrade\r\n", "", 1)
		}, `response Connection header does not contain "Upgrade"`},
		// Item 4.
		{"wrong Accept", DialOptions{}, func(k string) string {
			return strings.Replace(response101(k), AcceptKey(k), AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), 1)
		}, "wrong or missing Sec-WebSocket-Accept"},
		{"Accept of the key itself", DialOptions{}, func(k string) string {
			return strings.Replace(response101(k), AcceptKey(k), k, 1)
		}, "wrong or missing Sec-WebSocket-Accept"},
		{"no Accept", DialOptions{}, func(k string) string {
			return strings.Replace(response101(k), "Sec-WebSocket-Accept: "+AcceptKey(k)+"\r\n", "", 1)
		}, "wrong or missing Sec-WebSocket-Accept"},
		{"two Accepts", DialOptions{}, func(k string) string {
			return response101(k, "Sec-WebSocket-Accept: "+AcceptKey(k)+"\r\n")
		}, "wrong or missing Sec-WebSocket-Accept"},
		// Item 5.
		{"unoffered extension", DialOptions{Extensions: []Extension{{Name: "x"}}}, func(k string) string {
			return response101(k, "Sec-WebSocket-Extensions: y\r\n")
		}, `server accepted extension "y", which was not offered`},
		{"extension, none offered", DialOptions{}, func(k string) string {
			return response101(k, "Sec-WebSocket-Extensions: x\r\n")
		}, `server accepted extension "x", which was not offered`},
		{"malformed extensions", DialOptions{Extensions: []Extension{{Name: "x"}}}, func(k string) string {
			return response101(k, "Sec-WebSocket-Extensions: x;\r\n")
		}, "malformed Sec-WebSocket-Extensions: expected parameter name at offset 2"},
		// Item 6.
		{"unoffered subprotocol", DialOptions{Subprotocols: []string{"chat"}}, func(k string) string {
			return response101(k, "Sec-WebSocket-Protocol: superchat\r\n")
		}, `server selected subprotocol "superchat", which was not offered`},
		{"subprotocol, none offered", DialOptions{}, func(k string) string {
			return response101(k, "Sec-WebSocket-Protocol: chat\r\n")
		}, `server selected subprotocol "chat", which was not offered`},
		{"empty subprotocol", DialOptions{Subprotocols: []string{"chat"}}, func(k string) string {
			return response101(k, "Sec-WebSocket-Protocol: \r\n")
		}, `server selected subprotocol "", which was not offered`},
		{"subprotocol list", DialOptions{Subprotocols: []string{"a", "b"}}, func(k string) string {
			return response101(k, "Sec-WebSocket-Protocol: a, b\r\n")
		}, `server selected subprotocol "a, b", which was not offered`},
		{"two subprotocols", DialOptions{Subprotocols: []string{"a", "b"}}, func(k string) string {
			return response101(k, "Sec-WebSocket-Protocol: a\r\n", "Sec-WebSocket-Protocol: b\r\n")
		}, "more than one Sec-WebSocket-Protocol in response"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := rawServer(t, tc.respond)
			res, resp, err := Dial(t.Context(), wsURL(srv), &tc.opts)
			if tc.reason == "" {
				require.NoError(t, err)
				res.Conn.Close()
				return
			}
			assert.Nil(t, res)
			var herr *Error
			require.ErrorAs(t, err, &herr)
			assert.Equal(t, 0, herr.Status)
			assert.Equal(t, tc.reason, herr.Reason)
			require.NotNil(t, resp)
			assert.Equal(t, 101, resp.StatusCode)
		})
	}
}

// TestDialBufferedServerBytes has the server send its first frames in the
// same write as its 101: they must come out of Result.Reader.
func TestDialBufferedServerBytes(t *testing.T) {
	t.Parallel()
	// RFC 6455 §5.7: an unmasked text frame "Hello", then a ping "Hello".
	const frames = "\x81\x05\x48\x65\x6c\x6c\x6f" + "\x89\x05\x48\x65\x6c\x6c\x6f"
	srv := rawServer(t, func(key string) string { return response101(key) + frames })
	res, resp, err := Dial(t.Context(), wsURL(srv), nil)
	require.NoError(t, err)
	defer res.Conn.Close()
	assert.Equal(t, http.NoBody, resp.Body)
	got, err := io.ReadAll(res.Reader) // the server closes after its write
	require.NoError(t, err)
	assert.Equal(t, frames, string(got))
}

func TestDialMaxHeaderBytes(t *testing.T) {
	t.Parallel()
	// A 101 for any key is 129 bytes: status line 34, Upgrade 20,
	// Connection 21, Sec-WebSocket-Accept 52, blank line 2.
	const size101 = 129
	frame := "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00" + strings.Repeat("p", 64<<10) // binary, 64 KiB, 8-byte length
	pad := func(n int) string { return strings.Repeat("X-Pad: "+strings.Repeat("a", 1000)+"\r\n", n) }
	tests := []struct {
		name     string
		max      int
		respond  func(key string) string
		frames   string // sent in the same write, right after the response
		tooLarge bool
	}{
		{"exactly the limit, then a large frame", size101, func(k string) string { return response101(k) }, frame, false},
		{"one byte over", size101 - 1, func(k string) string { return response101(k) }, frame, true},
		{"default limit, large headers", 0, func(k string) string { return response101(k, pad(15)) }, "", false},
		{"default limit exceeded", 0, func(k string) string { return response101(k, pad(17)) }, "", true},
		{"endless header line", 0, func(string) string { return "HTTP/1.1 101 Switching Protocols\r\nX-Pad: " }, frame, true},
		{"limit applies to refusals", 0, func(string) string { return "HTTP/1.1 200 OK\r\n" + pad(17) + "\r\n" }, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := rawServer(t, func(key string) string { return tc.respond(key) + tc.frames })
			res, _, err := Dial(t.Context(), wsURL(srv), &DialOptions{MaxHeaderBytes: tc.max})
			if tc.tooLarge {
				want := tc.max
				if want == 0 {
					want = DefaultMaxHeaderBytes
				}
				var herr *Error
				require.ErrorAs(t, err, &herr)
				assert.Equal(t, fmt.Sprintf("response header larger than %d bytes", want), herr.Reason)
				return
			}
			require.NoError(t, err)
			defer res.Conn.Close()
			got, err := io.ReadAll(res.Reader) // the server closes after its write
			require.NoError(t, err)
			assert.Equal(t, len(tc.frames), len(got), "frames after the 101 were cut off")
			assert.True(t, tc.frames == string(got))
		})
	}
}

// silentServer accepts one connection, reads the request, reports it, and
// never answers. It reports how reading ended once the client hangs up.
func silentServer(t *testing.T) (addr string, gotRequest, hungUp <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	req, done := make(chan error, 1), make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		c, err := ln.Accept()
		if err != nil {
			req <- err
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(waitLimit))
		br := bufio.NewReader(c)
		_, err = http.ReadRequest(br)
		req <- err
		_, err = io.Copy(io.Discard, br) // nil once the client closes
		done <- err
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String(), req, done
}

func TestDialCancel(t *testing.T) {
	t.Parallel()
	addr, gotRequest, hungUp := silentServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	dialed := make(chan error, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		_, _, err := Dial(ctx, "ws://"+addr+"/", &DialOptions{Proxy: noProxy})
		dialed <- err
	})
	require.NoError(t, recv(t, gotRequest))
	cancel() // mid-handshake: the request is sent, the response never comes
	err := recv(t, dialed)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, "handshake: read response: context canceled", err.Error())
	assert.NoError(t, recv(t, hungUp), "Dial did not close the connection")
}

func TestDialTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		timeout    time.Duration
		ctxTimeout time.Duration
		want       time.Duration
	}{
		{"default", 0, 0, DefaultTimeout},
		{"option", 2 * time.Second, 0, 2 * time.Second},
		{"context first", 10 * time.Second, time.Second, time.Second},
		{"option first", time.Second, 10 * time.Second, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client, server := net.Pipe()
				var wg sync.WaitGroup
				defer wg.Wait()
				wg.Go(func() {
					// Read the request, never answer, return when the
					// client closes.
					br := bufio.NewReader(server)
					http.ReadRequest(br)
					io.Copy(io.Discard, br)
					server.Close()
				})
				ctx := t.Context()
				if tc.ctxTimeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.ctxTimeout)
					defer cancel()
				}
				start := time.Now()
				_, _, err := Dial(ctx, "ws://example.com/", &DialOptions{
					Timeout:        tc.timeout,
					Proxy:          noProxy,
					NetDialContext: func(context.Context, string, string) (net.Conn, error) { return client, nil },
				})
				assert.ErrorIs(t, err, context.DeadlineExceeded)
				assert.Equal(t, tc.want, time.Since(start))
			})
		})
	}
}

func TestDialTLS(t *testing.T) {
	t.Parallel()
	outcomes := make(chan outcome, 4)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := Upgrade(w, r, nil)
		if err == nil {
			res.Conn.Close()
		}
		outcomes <- outcome{r, nil, err}
	}))
	// The server would pick HTTP/2 if the client offered it.
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{NextProtos: []string{"h2", "http/1.1"}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted case logs handshake errors
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	addr := srv.Listener.Addr().String()

	cfg := &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}}
	for _, scheme := range []string{"wss", "https"} {
		t.Run(scheme, func(t *testing.T) {
			res, _, err := Dial(t.Context(), scheme+"://"+addr+"/", &DialOptions{TLSConfig: cfg})
			require.NoError(t, err)
			defer res.Conn.Close()
			require.NoError(t, recv(t, outcomes).err)
			tc, ok := res.Conn.(*tls.Conn)
			require.True(t, ok, "Conn is %T", res.Conn)
			assert.Equal(t, "http/1.1", tc.ConnectionState().NegotiatedProtocol)
		})
	}
	// The caller's config is cloned, not changed.
	assert.Equal(t, []string{"h2"}, cfg.NextProtos)
	assert.Empty(t, cfg.ServerName)

	t.Run("untrusted certificate", func(t *testing.T) {
		_, _, err := Dial(t.Context(), "wss://"+addr+"/", nil)
		var verr *tls.CertificateVerificationError
		assert.ErrorAs(t, err, &verr)
	})
	t.Run("ServerName defaults to the host", func(t *testing.T) {
		// The test certificate is valid for example.com, not example.net.
		dialLocal := func(ctx context.Context, network, _ string) (net.Conn, error) {
			return new(net.Dialer).DialContext(ctx, network, addr)
		}
		res, _, err := Dial(t.Context(), "wss://example.com/", &DialOptions{TLSConfig: cfg, NetDialContext: dialLocal, Proxy: noProxy})
		require.NoError(t, err)
		res.Conn.Close()
		require.NoError(t, recv(t, outcomes).err)
		_, _, err = Dial(t.Context(), "wss://example.net/", &DialOptions{TLSConfig: cfg, NetDialContext: dialLocal, Proxy: noProxy})
		var verr *tls.CertificateVerificationError
		assert.ErrorAs(t, err, &verr)
	})
}

// proxyRequest is what the test proxy received.
type proxyRequest struct {
	method, target, auth string
}

// connectProxy starts an HTTP CONNECT proxy for one connection, over TLS
// when cfg is non-nil. It answers status, and tunnels when status is 200.
func connectProxy(t *testing.T, cfg *tls.Config, status int) (addr string, requests <-chan proxyRequest) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	reqs := make(chan proxyRequest, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			t.Error(err)
			return
		}
		reqs <- proxyRequest{req.Method, req.RequestURI, req.Header.Get("Proxy-Authorization")}
		if status != http.StatusOK {
			fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\n\r\n", status, http.StatusText(status))
			return
		}
		up, err := net.Dial("tcp", req.RequestURI)
		if err != nil {
			t.Error(err)
			return
		}
		defer up.Close()
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		var pipes sync.WaitGroup
		pipes.Go(func() {
			io.Copy(up, br)
			up.Close()
		})
		io.Copy(c, up)
		c.Close()
		pipes.Wait()
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String(), reqs
}

func TestDialProxy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		proxyTLS, targetTLS bool
		serverName          string // TLSConfig.ServerName
	}{
		{"ws via http proxy", false, false, ""},
		{"wss via http proxy", false, true, ""},
		{"ws via https proxy", true, false, ""},
		{"wss via https proxy", true, true, ""},
		// The certificate is not valid for this name: it must be used for
		// the target only, never for the proxy.
		{"https proxy ignores the target's ServerName", true, false, "not-in-the-cert.test"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, outcomes := startUpgradeServer(t, &UpgradeOptions{Subprotocols: []string{"chat"}}, nil, tc.targetTLS)
			pool := x509.NewCertPool()
			var proxyCfg *tls.Config
			scheme := "http"
			if tc.proxyTLS {
				certSrv := httptest.NewTLSServer(http.NotFoundHandler()) // only for its certificate
				t.Cleanup(certSrv.Close)
				proxyCfg = certSrv.TLS.Clone()
				pool.AddCert(certSrv.Certificate())
				scheme = "https"
			}
			if tc.targetTLS {
				pool.AddCert(srv.Certificate())
			}
			proxyAddr, requests := connectProxy(t, proxyCfg, http.StatusOK)
			target := srv.Listener.Addr().String()

			res, _, err := Dial(t.Context(), wsURL(srv)+"/via-proxy", &DialOptions{
				Subprotocols: []string{"chat"},
				TLSConfig:    &tls.Config{RootCAs: pool, ServerName: tc.serverName},
				Proxy:        http.ProxyURL(&url.URL{Scheme: scheme, User: url.UserPassword("alice", "s3cret"), Host: proxyAddr}),
			})
			require.NoError(t, err)
			defer res.Conn.Close()
			// RFC 6455 §4.1 step 3: CONNECT host:port, with credentials.
			assert.Equal(t, proxyRequest{"CONNECT", target, "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))}, recv(t, requests))
			server := recv(t, outcomes)
			require.NoError(t, server.err)
			defer server.res.Conn.Close()
			assert.Equal(t, "/via-proxy", server.req.RequestURI)
			assert.Equal(t, "chat", res.Subprotocol)

			// The tunnel carries frames.
			_, err = server.res.Conn.Write([]byte("\x81\x05Hello"))
			require.NoError(t, err)
			got := make([]byte, 7)
			_, err = io.ReadFull(res.Reader, got)
			require.NoError(t, err)
			assert.Equal(t, "\x81\x05Hello", string(got))
		})
	}
	t.Run("proxy refuses", func(t *testing.T) {
		t.Parallel()
		proxyAddr, requests := connectProxy(t, nil, http.StatusProxyAuthRequired)
		_, _, err := Dial(t.Context(), "ws://example.com/", &DialOptions{
			Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: proxyAddr}),
		})
		assert.EqualError(t, err, `handshake: proxy refused CONNECT: "407 Proxy Authentication Required"`)
		assert.Equal(t, proxyRequest{"CONNECT", "example.com:80", ""}, recv(t, requests))
	})
}
