package handshake

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitLimit bounds every wait in these tests so that a bug fails the test
// instead of hanging it. Nothing waits for it to pass.
const waitLimit = 10 * time.Second

// outcome is a request the server received and what Upgrade returned.
type outcome struct {
	req *http.Request
	res *Result
	err error
}

// upgradeServer starts a server whose handler calls Upgrade with opts
// (behind wrap, when non-nil) and reports each outcome on the returned
// channel. The test owns the connections it receives; any left are closed
// at cleanup.
func upgradeServer(t *testing.T, opts *UpgradeOptions, wrap func(http.ResponseWriter) http.ResponseWriter) (*httptest.Server, <-chan outcome) {
	t.Helper()
	return startUpgradeServer(t, opts, wrap, false)
}

// startUpgradeServer is upgradeServer with TLS when secure is set.
func startUpgradeServer(t *testing.T, opts *UpgradeOptions, wrap func(http.ResponseWriter) http.ResponseWriter, secure bool) (*httptest.Server, <-chan outcome) {
	t.Helper()
	ch := make(chan outcome, 16)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wrap != nil {
			w = wrap(w)
		}
		res, err := Upgrade(w, r, opts)
		ch <- outcome{r, res, err}
	}))
	if secure {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(func() {
		srv.Close() // waits for every handler, so no one sends on ch after this
		close(ch)
		for o := range ch {
			if o.res != nil {
				o.res.Conn.Close()
			}
		}
	})
	return srv, ch
}

// recv receives from ch, failing the test if nothing comes.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatal("timed out waiting on a channel")
		panic("unreachable")
	}
}

// wsURL turns an httptest server URL into a ws:// or wss:// one.
func wsURL(srv *httptest.Server) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// rawExchange writes request to addr over a fresh TCP connection in one
// write and returns the parsed response and its body.
func rawExchange(t *testing.T, addr, request string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(waitLimit)))
	_, err = io.WriteString(conn, request)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

// rfcRequest is the client handshake of RFC 6455 §1.3, with Host left for
// the caller to fill in.
const rfcRequest = "GET /chat HTTP/1.1\r\n" +
	"Host: %s\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Sec-WebSocket-Version: 13\r\n"

func TestUpgrade(t *testing.T) {
	t.Parallel()
	var offered []Extension
	srv, outcomes := upgradeServer(t, &UpgradeOptions{
		Subprotocols: []string{"superchat", "chat"},
		Extensions: func(offers []Extension) ([]Extension, error) {
			offered = offers
			return []Extension{{Name: "x-two", Params: []Param{{Name: "p", Value: "1", HasValue: true}}}}, nil
		},
		Header: http.Header{"Set-Cookie": {"session=abc"}, "X-Server": {"a", "b"}},
	}, nil)

	res, resp, err := Dial(t.Context(), wsURL(srv), &DialOptions{
		Subprotocols: []string{"chat", "superchat"},
		Extensions:   []Extension{{Name: "x-one"}, {Name: "x-two", Params: []Param{{Name: "p"}}}},
	})
	require.NoError(t, err)
	defer res.Conn.Close()
	server := recv(t, outcomes)
	require.NoError(t, server.err)
	defer server.res.Conn.Close()

	// RFC 6455 §4.2.2 step 5.
	assert.Equal(t, 101, resp.StatusCode)
	assert.Equal(t, "101 Switching Protocols", resp.Status)
	assert.Equal(t, []string{"websocket"}, resp.Header["Upgrade"])
	assert.Equal(t, []string{"Upgrade"}, resp.Header["Connection"])
	assert.Equal(t, []string{AcceptKey(resp.Request.Header.Get("Sec-WebSocket-Key"))}, resp.Header["Sec-Websocket-Accept"])
	assert.Equal(t, []string{"superchat"}, resp.Header["Sec-Websocket-Protocol"], "the server's preference wins")
	assert.Equal(t, []string{"x-two; p=1"}, resp.Header["Sec-Websocket-Extensions"])
	assert.Equal(t, []string{"session=abc"}, resp.Header["Set-Cookie"])
	assert.Equal(t, []string{"a", "b"}, resp.Header["X-Server"])
	assert.Equal(t, http.NoBody, resp.Body)

	assert.Equal(t, []Extension{{Name: "x-one"}, {Name: "x-two", Params: []Param{{Name: "p"}}}}, offered)
	want := []Extension{{Name: "x-two", Params: []Param{{Name: "p", Value: "1", HasValue: true}}}}
	assert.Equal(t, "superchat", server.res.Subprotocol)
	assert.Equal(t, want, server.res.Extensions)
	assert.Equal(t, "superchat", res.Subprotocol)
	assert.Equal(t, want, res.Extensions)

	// The connection carries bytes both ways.
	_, err = res.Conn.Write([]byte("ping"))
	require.NoError(t, err)
	got := make([]byte, 4)
	_, err = io.ReadFull(server.res.Reader, got)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(got))
	_, err = server.res.Conn.Write([]byte("pong"))
	require.NoError(t, err)
	_, err = io.ReadFull(res.Reader, got)
	require.NoError(t, err)
	assert.Equal(t, "pong", string(got))
}

func TestUpgradeSubprotocol(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		supported []string
		offered   []string
		want      string
	}{
		{"neither side", nil, nil, ""},
		{"client offers, server has none", nil, []string{"chat"}, ""},
		{"server has some, client offers none", []string{"chat"}, nil, ""},
		{"no overlap", []string{"v2"}, []string{"v1"}, ""},
		{"server order wins", []string{"b", "a"}, []string{"a", "b"}, "b"},
		{"case-sensitive", []string{"Chat"}, []string{"chat"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, outcomes := upgradeServer(t, &UpgradeOptions{Subprotocols: tc.supported}, nil)
			res, resp, err := Dial(t.Context(), wsURL(srv), &DialOptions{Subprotocols: tc.offered})
			require.NoError(t, err)
			defer res.Conn.Close()
			server := recv(t, outcomes)
			require.NoError(t, server.err)
			assert.Equal(t, tc.want, server.res.Subprotocol)
			assert.Equal(t, tc.want, res.Subprotocol)
			// RFC 6455 §4.2.2 /subprotocol/: no match, no header.
			assert.Equal(t, tc.want != "", resp.Header["Sec-Websocket-Protocol"] != nil)
		})
	}
}

func TestUpgradeExtensionHook(t *testing.T) {
	t.Parallel()
	hookErr := errors.New("x-one needs p")
	tests := []struct {
		name    string
		hook    func([]Extension) ([]Extension, error)
		offer   string // Sec-WebSocket-Extensions line, "" for none
		status  int    // 101 or the refusal
		body    string
		wantExt string // response Sec-WebSocket-Extensions
	}{
		{"nil hook accepts nothing", nil, "x-one", 101, "", ""},
		{"hook accepts one", func(o []Extension) ([]Extension, error) { return o[1:], nil }, "x-one, x-two; q", 101, "", "x-two; q"},
		{"hook accepts none", func([]Extension) ([]Extension, error) { return nil, nil }, "x-one", 101, "", ""},
		{"hook not called without offers", func([]Extension) ([]Extension, error) { panic("called") }, "", 101, "", ""},
		{"hook error", func([]Extension) ([]Extension, error) { return nil, hookErr }, "x-one", 400, "x-one needs p\n", ""},
		{"hook *Error", func([]Extension) ([]Extension, error) {
			return nil, &Error{Status: http.StatusUnprocessableEntity, Reason: "no"}
		}, "x-one", 422, "no\n", ""},
		// RFC 6455 §9: never accept an extension the client did not offer.
		{"hook accepts unoffered", func([]Extension) ([]Extension, error) { return []Extension{{Name: "x-three"}}, nil }, "x-one", 500, `extension "x-three" accepted but not offered` + "\n", ""},
		{"hook returns bad parameter", func([]Extension) ([]Extension, error) {
			return []Extension{{Name: "x-one", Params: []Param{{Name: "a b"}}}}, nil
		}, "x-one", 500, `invalid parameter name "a b" in extension x-one` + "\n", ""},
		// RFC 6455 §9.1: malformed offers fail the handshake.
		{"malformed offer, nil hook", nil, "x-one;", 400, "malformed Sec-WebSocket-Extensions: expected parameter name at offset 6\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, outcomes := upgradeServer(t, &UpgradeOptions{Extensions: tc.hook}, nil)
			req := strings.Replace(rfcRequest, "%s", srv.Listener.Addr().String(), 1)
			if tc.offer != "" {
				req += "Sec-WebSocket-Extensions: " + tc.offer + "\r\n"
			}
			resp, body := rawExchange(t, srv.Listener.Addr().String(), req+"\r\n")
			server := recv(t, outcomes)
			assert.Equal(t, tc.status, resp.StatusCode)
			if tc.status == 101 {
				require.NoError(t, server.err)
				server.res.Conn.Close()
				assert.Equal(t, tc.wantExt, resp.Header.Get("Sec-WebSocket-Extensions"))
				return
			}
			assert.Equal(t, tc.body, body)
			var herr *Error
			require.ErrorAs(t, server.err, &herr)
			assert.Equal(t, tc.status, herr.Status)
			assert.Equal(t, strings.TrimSuffix(tc.body, "\n"), herr.Reason)
		})
	}
}

func TestUpgradeRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    *UpgradeOptions
		request string // with %s for Host
		status  int
		body    string
		header  http.Header // must be present in the response
	}{
		{"missing key", nil, strings.Replace(rfcRequest, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 1),
			400, "missing Sec-WebSocket-Key\n", http.Header{"Content-Type": {"text/plain; charset=utf-8"}}},
		// RFC 6455 §4.2.2 /version/ and §4.4: 426 names the version we speak.
		{"version 8", nil, strings.Replace(rfcRequest, "Version: 13", "Version: 8", 1),
			426, "unsupported Sec-WebSocket-Version \"8\"; want 13\n", http.Header{"Sec-Websocket-Version": {"13"}, "Upgrade": {"websocket"}}},
		{"POST", nil, strings.Replace(rfcRequest, "GET", "POST", 1) + "Content-Length: 0\r\n",
			405, "method \"POST\" not allowed; want GET\n", http.Header{"Allow": {"GET"}}},
		{"no Upgrade", nil, strings.Replace(rfcRequest, "Upgrade: websocket\r\n", "", 1),
			400, "Upgrade header does not contain \"websocket\"\n", nil},
		// RFC 6455 §10.2: 403 for an origin the server does not expect.
		{"foreign origin", nil, rfcRequest + "Origin: http://evil.example\r\n",
			403, "origin \"http://evil.example\" not allowed\n", nil},
		{"origin pattern", &UpgradeOptions{OriginPatterns: []string{"*.example"}}, rfcRequest + "Origin: http://good.example\r\n",
			101, "", nil},
		{"custom origin check, plain error", &UpgradeOptions{CheckOrigin: func(*http.Request) error { return errors.New("go away") }}, rfcRequest,
			403, "go away\n", nil},
		{"custom origin check, *Error", &UpgradeOptions{CheckOrigin: func(*http.Request) error { return &Error{Status: 401, Reason: "who are you"} }}, rfcRequest,
			401, "who are you\n", nil},
		{"custom origin check replaces default", &UpgradeOptions{CheckOrigin: func(*http.Request) error { return nil }}, rfcRequest + "Origin: http://evil.example\r\n",
			101, "", nil},
		{"reserved response header", &UpgradeOptions{Header: http.Header{"sec-websocket-accept": {"x"}}}, rfcRequest,
			500, "header Sec-Websocket-Accept is set by the handshake itself\n", nil},
		{"response header with newline", &UpgradeOptions{Header: http.Header{"X-A": {"1\r\nX-B: 2"}}}, rfcRequest,
			500, "invalid value for header X-A\n", nil},
		{"subprotocol with newline", &UpgradeOptions{Subprotocols: []string{"a\nb"}}, rfcRequest + "Sec-WebSocket-Protocol: a\nb\r\n",
			400, "", nil}, // net/http itself rejects the bare LF
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, outcomes := upgradeServer(t, tc.opts, nil)
			addr := srv.Listener.Addr().String()
			resp, body := rawExchange(t, addr, strings.Replace(tc.request, "%s", addr, 1)+"\r\n")
			assert.Equal(t, tc.status, resp.StatusCode)
			for name, values := range tc.header {
				assert.Equal(t, values, resp.Header[name], name)
			}
			if tc.body == "" {
				if tc.status == 101 {
					server := recv(t, outcomes)
					require.NoError(t, server.err)
					server.res.Conn.Close()
				}
				return
			}
			assert.Equal(t, tc.body, body)
			server := recv(t, outcomes)
			var herr *Error
			require.ErrorAs(t, server.err, &herr)
			assert.Equal(t, tc.status, herr.Status)
			assert.Equal(t, strings.TrimSuffix(tc.body, "\n"), herr.Reason)
			assert.Nil(t, server.res)
		})
	}
}

// unwrapper is middleware that hides the ResponseWriter's Hijack method but
// lets http.ResponseController find it through Unwrap.
type unwrapper struct {
	http.ResponseWriter
}

func (u unwrapper) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// opaque is middleware that hides Hijack and offers no Unwrap.
type opaque struct {
	http.ResponseWriter
}

func TestUpgradeMiddleware(t *testing.T) {
	t.Parallel()
	t.Run("Unwrap", func(t *testing.T) {
		t.Parallel()
		srv, outcomes := upgradeServer(t, nil, func(w http.ResponseWriter) http.ResponseWriter { return unwrapper{w} })
		res, _, err := Dial(t.Context(), wsURL(srv), nil)
		require.NoError(t, err)
		res.Conn.Close()
		server := recv(t, outcomes)
		require.NoError(t, server.err)
		server.res.Conn.Close()
	})
	t.Run("no Unwrap", func(t *testing.T) {
		t.Parallel()
		srv, outcomes := upgradeServer(t, nil, func(w http.ResponseWriter) http.ResponseWriter { return opaque{w} })
		_, resp, err := Dial(t.Context(), wsURL(srv), nil)
		var herr *Error
		require.ErrorAs(t, err, &herr)
		assert.Equal(t, 500, herr.Status)
		assert.Equal(t, 500, resp.StatusCode)
		server := recv(t, outcomes)
		require.ErrorAs(t, server.err, &herr)
		assert.Equal(t, 500, herr.Status)
		assert.ErrorIs(t, server.err, http.ErrNotSupported)
	})
}

// TestUpgradeBufferedClientBytes sends the handshake and the first frames in
// one write: the frames sit in net/http's buffer when Upgrade hijacks, and
// must come out of Result.Reader.
func TestUpgradeBufferedClientBytes(t *testing.T) {
	t.Parallel()
	srv, outcomes := upgradeServer(t, nil, nil)
	addr := srv.Listener.Addr().String()
	// RFC 6455 §5.7: a single-frame masked text message "Hello", twice.
	const frames = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58" + "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, strings.Replace(rfcRequest, "%s", addr, 1)+"\r\n"+frames)
	require.NoError(t, err)

	server := recv(t, outcomes)
	require.NoError(t, server.err)
	defer server.res.Conn.Close()
	require.NoError(t, server.res.Conn.SetReadDeadline(time.Now().Add(waitLimit)))
	got := make([]byte, len(frames))
	_, err = io.ReadFull(server.res.Reader, got)
	require.NoError(t, err)
	assert.Equal(t, frames, string(got))

	// The client still gets a clean 101.
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(waitLimit)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	assert.Equal(t, 101, resp.StatusCode)
	// RFC 6455 §1.3: the answer to the example key.
	assert.Equal(t, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", resp.Header.Get("Sec-WebSocket-Accept"))
}

// deadlineConn records the deadlines set on a connection.
type deadlineConn struct {
	net.Conn
	mu            sync.Mutex
	read, written time.Time
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.read, c.written = t, t
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.read = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.written = t
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

type deadlineListener struct {
	net.Listener
}

func (l deadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &deadlineConn{Conn: c}, nil
}

func TestUpgradeClearsDeadlines(t *testing.T) {
	t.Parallel()
	outcomes := make(chan outcome, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := Upgrade(w, r, nil)
		outcomes <- outcome{r, res, err}
	}))
	// net/http sets deadlines from these before calling the handler.
	srv.Config.ReadTimeout = time.Hour
	srv.Config.WriteTimeout = time.Hour
	srv.Listener = deadlineListener{srv.Listener}
	srv.Start()
	defer srv.Close()

	res, _, err := Dial(t.Context(), wsURL(srv), nil)
	require.NoError(t, err)
	defer res.Conn.Close()
	server := recv(t, outcomes)
	require.NoError(t, server.err)
	defer server.res.Conn.Close()
	dc, ok := server.res.Conn.(*deadlineConn)
	require.True(t, ok, "hijacked %T", server.res.Conn)
	dc.mu.Lock()
	defer dc.mu.Unlock()
	assert.True(t, dc.read.IsZero(), "read deadline %v", dc.read)
	assert.True(t, dc.written.IsZero(), "write deadline %v", dc.written)
}

func TestUpgradeNilOptionsNotModified(t *testing.T) {
	t.Parallel()
	opts := &UpgradeOptions{Subprotocols: []string{"chat"}, Header: http.Header{"X-A": {"1"}}}
	srv, outcomes := upgradeServer(t, opts, nil)
	res, _, err := Dial(t.Context(), wsURL(srv), &DialOptions{Subprotocols: []string{"chat"}})
	require.NoError(t, err)
	res.Conn.Close()
	server := recv(t, outcomes)
	require.NoError(t, server.err)
	server.res.Conn.Close()
	assert.Equal(t, &UpgradeOptions{Subprotocols: []string{"chat"}, Header: http.Header{"X-A": {"1"}}}, opts)
}
