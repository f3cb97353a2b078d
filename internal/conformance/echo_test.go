package conformance

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEchoShutdown checks examples/echo's shutdown: on SIGTERM an open
// connection is closed with 1001 (going away, RFC 6455 §7.4.1) and the
// process exits with status 0.
func TestEchoShutdown(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	ctx, cancel := context.WithTimeout(t.Context(), caseTimeout)
	defer cancel()
	c, _, err := ws.Dial(ctx, "ws://"+echo.Addr+"/", nil)
	require.NoError(t, err)
	defer c.CloseNow()
	require.NoError(t, c.Write(ctx, ws.MessageText, []byte("before shutdown")))
	typ, p, err := c.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, ws.MessageText, typ)
	assert.Equal(t, "before shutdown", string(p))

	read := make(chan error, 1)
	go func() {
		_, _, err := c.Read(ctx)
		read <- err
	}()
	start := time.Now()
	echo.Stop(t)
	err = <-read
	assert.Equal(t, ws.StatusGoingAway, ws.CloseStatus(err), "the server's close: %v", err)
	t.Logf("echo closed its connection and exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
}

// TestEchoCompressionFlag checks that examples/echo refuses a
// -compression mode it does not know, rather than serving in some mode.
func TestEchoCompressionFlag(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), caseTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, echoBin, "-addr", "127.0.0.1:0", "-compression", "fastest").CombinedOutput()
	var ee *exec.ExitError
	if assert.ErrorAs(t, err, &ee, "echo with -compression fastest: %s", out) {
		assert.NotEqual(t, -1, ee.ExitCode(), "echo was killed, not refused: %s", out)
	}
	assert.Contains(t, string(out), `unknown -compression mode "fastest"`)
}
