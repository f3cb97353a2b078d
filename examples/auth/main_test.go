package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/handshake"
	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	s := &server{token: "s3cret", sessions: make(map[string]string)}
	srv := httptest.NewServer(s.handler())
	t.Cleanup(srv.Close)
	return srv, "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// greeting dials with opts and returns the server's first message.
func greeting(t *testing.T, wsURL string, opts *ws.DialOptions) (string, error) {
	t.Helper()
	ctx := testContext(t)
	c, _, err := ws.Dial(ctx, wsURL, opts)
	if err != nil {
		return "", err
	}
	defer c.CloseNow()
	_, msg, err := c.Read(ctx)
	require.NoError(t, err)
	require.NoError(t, c.Close(ws.StatusNormalClosure, ""))
	return string(msg), nil
}

func TestRefusedBeforeUpgrade(t *testing.T) {
	t.Parallel()
	_, wsURL := newTestServer(t)
	for name, h := range map[string]http.Header{
		"no credentials":  nil,
		"wrong token":     {"Authorization": {"Bearer guess"}},
		"not bearer":      {"Authorization": {"Basic czNjcmV0"}},
		"unknown session": {"Cookie": {"session=forged"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, resp, err := ws.Dial(testContext(t), wsURL, &ws.DialOptions{Header: h})
			var he *handshake.Error
			require.ErrorAs(t, err, &he)
			assert.Equal(t, http.StatusUnauthorized, he.Status)
			require.NotNil(t, resp)
			assert.Equal(t, `Bearer realm="auth example"`, resp.Header.Get("WWW-Authenticate"))
		})
	}
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	_, wsURL := newTestServer(t)
	msg, err := greeting(t, wsURL, &ws.DialOptions{Header: http.Header{"Authorization": {"Bearer s3cret"}}})
	require.NoError(t, err)
	assert.Equal(t, "hello, API client: you are authenticated", msg)
	assert.NoError(t, dial(testContext(t), wsURL, "s3cret"), "the -dial mode")
	assert.Error(t, dial(testContext(t), wsURL, "guess"))
}

func TestCookieLogin(t *testing.T) {
	t.Parallel()
	srv, wsURL := newTestServer(t)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar}

	get := func() string {
		resp, err := browser.Get(srv.URL)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b)
	}
	assert.Contains(t, get(), `action="/login"`, "a stranger sees the login form")

	resp, err := browser.PostForm(srv.URL+"/login", url.Values{"name": {"Ann"}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "logged in and redirected to /")
	assert.Contains(t, get(), "new WebSocket(", "a user gets the page that connects")

	msg, err := greeting(t, wsURL, &ws.DialOptions{Jar: jar})
	require.NoError(t, err)
	assert.Equal(t, "hello, Ann: you are authenticated", msg)

	// The cookie is no passport for other sites' pages.
	_, _, err = ws.Dial(testContext(t), wsURL, &ws.DialOptions{Jar: jar, Header: http.Header{"Origin": {"https://evil.example"}}})
	var he *handshake.Error
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusForbidden, he.Status)

	resp, err = browser.PostForm(srv.URL+"/login", url.Values{"name": {"  "}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
