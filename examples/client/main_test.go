package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// server runs handle for each WebSocket connection and returns its
// ws:// URL.
func server(t *testing.T, handle func(c *ws.Conn)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		handle(c)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestEchoUntilEOF checks that the replies to the last lines still arrive
// when input ends: Close leaves messages that come before the server's
// close frame to the read loop, even one that has not reached Read yet.
func TestEchoUntilEOF(t *testing.T) {
	t.Parallel()
	closed := make(chan error, 1)
	url := server(t, func(c *ws.Conn) {
		for {
			typ, msg, err := c.Read(context.Background())
			if err != nil {
				closed <- err
				return
			}
			c.Write(context.Background(), typ, []byte(strings.ToUpper(string(msg))))
		}
	})
	var out, errOut strings.Builder
	err := run(testContext(t), url, strings.NewReader("hello\nworld\n"), &out, &errOut)
	require.NoError(t, err)
	assert.Equal(t, "HELLO\nWORLD\n", out.String(), "every reply, even those after the input ended")
	assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(<-closed), "EOF closes with 1000")
}

func TestServerCloses(t *testing.T) {
	t.Parallel()
	url := server(t, func(c *ws.Conn) {
		c.Read(context.Background())
		c.Write(context.Background(), ws.MessageBinary, []byte{1, 2, 3})
		c.Write(context.Background(), ws.MessageText, []byte("bye"))
		c.Close(ws.StatusGoingAway, "done here")
	})
	in, stdin := io.Pipe() // input that never ends by itself
	defer stdin.Close()
	go stdin.Write([]byte("hi\n"))
	var out, errOut strings.Builder
	require.NoError(t, run(testContext(t), url, in, &out, &errOut))
	assert.Equal(t, "[3 bytes of binary]\nbye\n", out.String())
	assert.Contains(t, errOut.String(), "done here")
}

func TestCancel(t *testing.T) {
	t.Parallel()
	closed := make(chan error, 1)
	url := server(t, func(c *ws.Conn) {
		c.Write(context.Background(), ws.MessageText, []byte("welcome"))
		_, _, err := c.Read(context.Background())
		closed <- err
	})
	ctx, cancel := context.WithCancel(testContext(t))
	in, stdin := io.Pipe()
	defer stdin.Close()
	out, stdout := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, url, in, stdout, io.Discard)
		stdout.Close()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "welcome\n", line, "connected")
	go io.Copy(io.Discard, out)
	cancel() // as Ctrl-C would
	require.NoError(t, <-done)
	assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(<-closed))
}

func TestDialError(t *testing.T) {
	t.Parallel()
	err := run(testContext(t), "http://example.invalid/", strings.NewReader(""), io.Discard, io.Discard)
	assert.Error(t, err)
}
