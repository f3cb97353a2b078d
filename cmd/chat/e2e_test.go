package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/handshake"
	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testServer is the chat handler on a real network listener.
type testServer struct {
	*httptest.Server
	room *Room
}

// newTestServer serves a room behind httptest. configure, if not nil,
// may change the http.Server before it starts.
func newTestServer(t *testing.T, cfg roomConfig, accept ws.AcceptOptions, configure func(*http.Server)) *testServer {
	t.Helper()
	return serveRoom(t, newTestRoom(t, cfg, max(cfg.History, minKeep)), accept, configure, nil)
}

// serveRoom serves room behind httptest, on ln if not nil.
func serveRoom(t *testing.T, room *Room, accept ws.AcceptOptions, configure func(*http.Server), ln net.Listener) *testServer {
	t.Helper()
	srv := httptest.NewUnstartedServer(newHandler(room, handlerOptions{Accept: accept, Logger: testLogger(t)}))
	if ln != nil {
		srv.Listener.Close()
		srv.Listener = ln
	}
	if configure != nil {
		configure(srv.Config)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return &testServer{srv, room}
}

// dial connects a WebSocket client to /ws with query.
func (s *testServer) dial(t *testing.T, query string, opts *ws.DialOptions) *ws.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, _, err := ws.Dial(ctx, s.wsURL(query), opts)
	require.NoError(t, err)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func (s *testServer) wsURL(query string) string {
	u := "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"
	if query != "" {
		u += "?" + query
	}
	return u
}

// netPeer wraps a dialled connection like peer wraps a pipe.
func netPeer(t *testing.T, c *ws.Conn) *peer {
	return &peer{t: t, conn: c, done: make(chan struct{})}
}

func TestEndToEndOrder(t *testing.T) {
	t.Parallel()
	const clients, each = 5, 20
	s := newTestServer(t, roomConfig{}, ws.AcceptOptions{}, nil)
	peers := make([]*peer, clients)
	for i := range peers {
		peers[i] = netPeer(t, s.dial(t, "name=c"+fmt.Sprint(i), nil))
		peers[i].welcome()
	}

	var wg sync.WaitGroup
	results := make([][]wire, clients)
	errs := make(chan error, 2*clients)
	for i, p := range peers {
		wg.Go(func() {
			msgs, err := p.collect(clients * each)
			results[i] = msgs
			if err != nil {
				errs <- fmt.Errorf("client %d read: %w", i, err)
			}
		})
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			for n := range each {
				if err := writeCommand(ctx, p.conn, command{Type: cmdSend, Text: fmt.Sprintf("%d/%d", i, n)}); err != nil {
					errs <- fmt.Errorf("client %d write: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for i, msgs := range results {
		require.Len(t, msgs, clients*each)
		assert.Equal(t, results[0], msgs, "client %d saw another order", i)
	}
	for i := 1; i < len(results[0]); i++ {
		assert.Greater(t, results[0][i].Seq, results[0][i-1].Seq)
	}
}

func TestEndToEndSlowClient(t *testing.T) {
	t.Parallel()
	const n, size = 300, 1000
	// Small socket buffers on the slow client's path make it stall after
	// tens of kilobytes, not megabytes. The server's end is known by the
	// client's address once its request starts arriving.
	var slowAddr sync.Map
	small := func(srv *http.Server) {
		srv.ConnState = func(c net.Conn, state http.ConnState) {
			if _, ok := slowAddr.Load(c.RemoteAddr().String()); ok && state == http.StateActive {
				c.(*net.TCPConn).SetWriteBuffer(8 << 10)
			}
		}
	}
	s := newTestServer(t, roomConfig{Queue: 16, WriteTimeout: time.Minute, MaxMessage: 2 * size}, ws.AcceptOptions{}, small)

	slowConn := s.dial(t, "name=slow", &ws.DialOptions{
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			c.(*net.TCPConn).SetReadBuffer(4 << 10)
			slowAddr.Store(c.LocalAddr().String(), true)
			return c, nil
		},
	})
	slow := netPeer(t, slowConn)
	slow.welcome()
	sender := netPeer(t, s.dial(t, "name=sender", nil))
	sender.welcome()
	readers := []*peer{sender}
	for i := range 3 {
		p := netPeer(t, s.dial(t, fmt.Sprint("name=r", i), nil))
		p.welcome()
		readers = append(readers, p)
	}

	// The sender waits for every reader to get each message before it
	// sends the next, so that no reader falls behind: only slow does.
	padding := strings.Repeat("x", size)
	texts := map[*peer][]string{}
	left := map[*peer]wire{}
	for i := range n {
		sender.say(fmt.Sprint(i, " ", padding))
		for _, p := range readers {
			for {
				m := p.read()
				if m.Type == typeLeave {
					left[p] = m
				}
				if m.Type == typeMessage {
					texts[p] = append(texts[p], m.Text[:strings.IndexByte(m.Text, ' ')])
					break
				}
			}
		}
	}
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprint(i)
	}
	for _, p := range readers {
		assert.Equal(t, want, texts[p], "every reader gets every message, in order")
		assert.Equal(t, "slow", left[p].Name, "slow was dropped while the others went on")
		assert.Equal(t, reasonTooSlow, left[p].Reason)
	}

	// The slow client finally reads: an unbroken run of the messages,
	// then the close that says why the rest did not come.
	var got []string
	var err error
	for err == nil {
		var m wire
		m, err = slow.tryRead()
		if m.Type == typeMessage {
			got = append(got, m.Text[:strings.IndexByte(m.Text, ' ')])
		}
	}
	var ce *ws.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, ws.StatusTryAgainLater, ce.Code)
	assert.Equal(t, reasonTooSlow, ce.Reason)
	assert.Less(t, len(got), n)
	assert.Equal(t, want[:len(got)], got)
}

func TestEndToEndResume(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, roomConfig{History: 2}, ws.AcceptOptions{}, nil)
	a := netPeer(t, s.dial(t, "", nil))
	a.welcome() // seq 1
	for i := range 4 {
		a.say(fmt.Sprint(i)) // seq 2…5
		a.readType(typeMessage)
	}
	b := netPeer(t, s.dial(t, "since=2&name=Bea", nil))
	w := b.read()
	assert.Equal(t, "Bea", w.Name)
	assert.Equal(t, uint64(5), w.Last)
	for _, want := range []uint64{3, 4, 5} {
		assert.Equal(t, want, b.read().Seq)
	}

	resp, err := http.Get(s.URL + "/ws?since=forty-two")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestEndToEndOrigin(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, roomConfig{}, ws.AcceptOptions{OriginPatterns: []string{"*.example.com"}}, nil)
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a browser
		{s.URL, true},
		{"https://chat.example.com", true},
		{"https://example.com", false},
		{"https://evil.example.net", false},
	}
	for _, tc := range tests {
		t.Run(tc.origin, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			c, _, err := ws.Dial(ctx, s.wsURL(""), &ws.DialOptions{Header: h})
			if tc.ok {
				require.NoError(t, err)
				c.CloseNow()
				return
			}
			var he *handshake.Error
			require.ErrorAs(t, err, &he)
			assert.Equal(t, http.StatusForbidden, he.Status)
		})
	}
}

func TestEndToEndPage(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, roomConfig{}, ws.AcceptOptions{}, nil)
	resp, err := http.Get(s.URL + "/")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	page := string(body)
	for _, want := range []string{
		`<label for="message" class="visually-hidden">Message</label>`,
		`type="submit" disabled>Send</button>`,
		`aria-live="polite"`,
	} {
		assert.Contains(t, page, want)
	}
	assert.NotContains(t, page, "innerHTML")
	assert.NotContains(t, page, "http://", "no external resources")
	assert.NotContains(t, page, "https://")

	csp := resp.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "default-src 'none'")
	assert.Contains(t, csp, "connect-src 'self'")
	for _, tag := range []string{"style", "script"} {
		_, rest, _ := strings.Cut(page, "<"+tag+">")
		inline, _, _ := strings.Cut(rest, "</"+tag+">")
		sum := sha256.Sum256([]byte(inline))
		assert.Contains(t, csp, tag+"-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}

	for path, want := range map[string]int{"/favicon.svg": 200, "/nope": 404, "/ws": 400} {
		resp, err := http.Get(s.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, path)
	}
}
