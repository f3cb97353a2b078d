package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPush(t *testing.T) {
	const interval = 20 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	shutdown, stop := context.WithCancel(ctx)
	defer stop()
	out, printed := io.Pipe()
	var conns sync.WaitGroup
	srv := httptest.NewServer(newHandler(shutdown, &conns, interval, printed))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), "new WebSocket(")

	c, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	require.NoError(t, err)
	defer c.CloseNow()
	start := time.Now()
	for _, want := range []string{"hello i am 0", "hello i am 1", "hello i am 2"} {
		_, msg, err := c.Read(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, string(msg))
	}
	assert.GreaterOrEqual(t, time.Since(start), 2*interval, "one push per interval")

	require.NoError(t, c.Write(ctx, ws.MessageText, []byte("thanks, server")))
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "page says: thanks, server\n", line)

	stop() // as SIGINT would
	_, _, err = c.Read(ctx)
	assert.Equal(t, ws.StatusGoingAway, ws.CloseStatus(err))
	conns.Wait()
}
