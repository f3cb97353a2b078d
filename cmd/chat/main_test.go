package main

import (
	"bufio"
	"context"
	"flag"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/ab7c482b/websocket/internal/testpeer"
	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startRun calls run with args and a free port, and returns the URL it
// serves, a channel with run's result, and its stderr. cancel stops it,
// as SIGINT would.
func startRun(t *testing.T, ctx context.Context, args ...string) (url string, done chan error, stderr *testpeer.Buffer) {
	t.Helper()
	out, stdout := io.Pipe()
	stderr = &testpeer.Buffer{}
	done = make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0", "-ping", "0"}, args...), stdout, stderr)
		stdout.Close()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "stderr:\n%s", stderr)
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "chat: serving ")
	require.True(t, ok, line)
	require.Regexp(t, `^http://127\.0\.0\.1:[1-9][0-9]*$`, url, "the real port, not 0")
	go io.Copy(io.Discard, out)
	return url, done, stderr
}

func TestRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, done, stderr := startRun(t, ctx)

	resp, err := http.Get(url + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	dctx, dcancel := context.WithTimeout(context.Background(), waitTimeout)
	defer dcancel()
	c, _, err := ws.Dial(dctx, "ws"+strings.TrimPrefix(url, "http")+"/ws", nil)
	require.NoError(t, err)
	defer c.CloseNow()
	p := netPeer(t, c)
	p.welcome()

	cancel() // as SIGINT would
	var rerr error
	for rerr == nil {
		_, rerr = p.tryRead()
	}
	var ce *ws.CloseError
	require.ErrorAs(t, rerr, &ce)
	assert.Equal(t, ws.StatusGoingAway, ce.Code)
	assert.Equal(t, reasonShutdown, ce.Reason)
	require.NoError(t, <-done)
	logs := stderr.String()
	assert.Contains(t, logs, "msg=connect")
	assert.Contains(t, logs, "msg=disconnect")
	assert.Contains(t, logs, "code=1001")
}

// TestRunRedis runs two chats with -redis: a message sent to one
// reaches a client of the other.
func TestRunRedis(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartRedis(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var urls []string
	var dones []chan error
	for range 2 {
		url, done, stderr := startRun(t, ctx, "-redis", srv.URL()+"?db=2")
		urls, dones = append(urls, url), append(dones, done)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("chat log:\n%s", stderr)
			}
		})
	}
	t.Cleanup(func() {
		cancel()
		for _, done := range dones {
			assert.NoError(t, <-done)
		}
	})
	a := openTab(t, "ws"+strings.TrimPrefix(urls[0], "http")+"/ws", "a")
	b := openTab(t, "ws"+strings.TrimPrefix(urls[1], "http")+"/ws", "b")
	exchange(t, []*tab{a}, []*tab{a, b}, 1, "hello")
	assert.Equal(t, a.messagesAfter(0), b.messagesAfter(0))
}

func TestRunFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-history", "-1"}, "-history"},
		{[]string{"-max-message", "0"}, "-max-message"},
		{[]string{"-rate", "-1"}, "-rate"},
		{[]string{"-burst", "0"}, "-burst"},
		{[]string{"-queue", "0"}, "-queue"},
		{[]string{"-queue-bytes", "0"}, "-queue-bytes"},
		{[]string{"-write-timeout", "0s"}, "-write-timeout"},
		{[]string{"-origin", "a.com,[x"}, "bad pattern"},
		{[]string{"-nope"}, errUsage.Error()},
		{[]string{"extra"}, errUsage.Error()},
		{[]string{"-addr", "256.0.0.1:http"}, "listen"},
		{[]string{"-redis", "http://localhost"}, "-redis: redis: URL scheme"},
		{[]string{"-redis", "unix:///nonexistent/redis.sock"}, "chat: subscribe: redis: subscribe on unix"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			err := run(t.Context(), tc.args, io.Discard, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
	var usage strings.Builder
	assert.ErrorIs(t, run(t.Context(), []string{"-h"}, io.Discard, &usage), flag.ErrHelp)
	assert.Contains(t, usage.String(), "-max-message")
}

func TestServeURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		flag, bound, want string
	}{
		{":30000", "[::]:30000", "http://localhost:30000"},
		{"127.0.0.1:0", "127.0.0.1:41234", "http://127.0.0.1:41234"},
		{"0.0.0.0:8080", "0.0.0.0:8080", "http://localhost:8080"},
		{"[::]:0", "[::]:5555", "http://localhost:5555"},
		{"[::1]:0", "[::1]:5555", "http://[::1]:5555"},
		{"chat.example.com:80", "192.0.2.1:80", "http://chat.example.com:80"},
	}
	for _, tc := range tests {
		t.Run(tc.flag, func(t *testing.T) {
			bound, err := net.ResolveTCPAddr("tcp", tc.bound)
			require.NoError(t, err)
			assert.Equal(t, tc.want, serveURL(tc.flag, bound))
		})
	}
}

func TestSplitPatterns(t *testing.T) {
	t.Parallel()
	got, err := splitPatterns(" *.example.com, ,localhost:*,")
	require.NoError(t, err)
	assert.Equal(t, []string{"*.example.com", "localhost:*"}, got)
	got, err = splitPatterns("")
	require.NoError(t, err)
	assert.Empty(t, got)
}
