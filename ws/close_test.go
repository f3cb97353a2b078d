package ws_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClose runs the closing handshake of RFC 6455 §7.1.2 end to end,
// started by either side: Close returns nil once the peer's close frame
// is back, and the peer's Read reports the code and reason sent.
func TestClose(t *testing.T) {
	checkGoroutines(t)
	long := strings.Repeat("é", 100) // 200 bytes
	tests := []struct {
		name       string
		code       ws.StatusCode
		reason     string
		wantCode   ws.StatusCode
		wantReason string
	}{
		{"normal", ws.StatusNormalClosure, "bye", ws.StatusNormalClosure, "bye"},
		{"going away", ws.StatusGoingAway, "", ws.StatusGoingAway, ""},
		{"application code", 4000, "done here", 4000, "done here"},
		// §5.5.1: a close frame may have no body; the peer then sees
		// 1005 (§7.1.5).
		{"no status", ws.StatusNoStatus, "ignored", ws.StatusNoStatus, ""},
		// §5.5: a control payload is at most 125 bytes, so the reason
		// is cut to 123, on a character boundary (§5.5.1: it is UTF-8).
		{"reason cut to fit", ws.StatusNormalClosure, long, ws.StatusNormalClosure, long[:122]},
	}
	for _, tc := range tests {
		t.Run("client/"+tc.name, func(t *testing.T) {
			srv, errs := serve(t, nil, echo)
			c := dial(t, srv, nil)
			require.NoError(t, c.Close(tc.code, tc.reason))
			var ce *ws.CloseError
			require.ErrorAs(t, recv(t, errs), &ce)
			assert.Equal(t, tc.wantCode, ce.Code)
			assert.Equal(t, tc.wantReason, ce.Reason)
		})
		t.Run("server/"+tc.name, func(t *testing.T) {
			srv, errs := serve(t, nil, func(ctx context.Context, c *ws.Conn) error {
				return c.Close(tc.code, tc.reason)
			})
			c := dial(t, srv, nil)
			_, _, err := c.Read(t.Context())
			var ce *ws.CloseError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.wantCode, ce.Code)
			assert.Equal(t, tc.wantReason, ce.Reason)
			assert.Equal(t, tc.wantCode, ws.CloseStatus(err))
			require.NoError(t, recv(t, errs), "the server's Close")
			// The connection is over; Read says so again.
			_, _, err2 := c.Read(t.Context())
			assert.Equal(t, err, err2)
		})
	}
}

// TestPeerClose has the peer start the closing handshake with each code a
// close frame may carry (RFC 6455 §7.4.1, §7.4.2): the Conn echoes the
// code (§5.5.1), and Read returns it with the reason.
func TestPeerClose(t *testing.T) {
	t.Parallel()
	codes := []ws.StatusCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999}
	type closeCase struct {
		name    string
		payload string
		code    ws.StatusCode
		reason  string
	}
	var tests []closeCase
	for _, code := range codes {
		tests = append(tests, closeCase{fmt.Sprint(code), closePayload(uint16(code), "see you"), code, "see you"})
	}
	tests = append(tests,
		closeCase{"empty", "", ws.StatusNoStatus, ""},
		closeCase{"code only", closePayload(1000, ""), ws.StatusNormalClosure, ""},
		closeCase{"longest reason", closePayload(4000, strings.Repeat("r", 123)), 4000, strings.Repeat("r", 123)},
	)
	for _, client := range []bool{false, true} {
		for _, tc := range tests {
			role := "server"
			if client {
				role = "client"
			}
			t.Run(role+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					c, peer := pipe(t, &ws.ConnOptions{Client: client})
					msgs := readLoop(t, c)
					f := wireFrame(0x88, []byte(tc.payload))
					if client {
						peer.send(t, []byte(f))
					} else {
						peer.send(t, clientFrame(f))
					}
					echo := peer.next(t)
					assert.Equal(t, opClose, echo.op)
					assert.Equal(t, client, echo.masked)
					if tc.code == ws.StatusNoStatus {
						assert.Empty(t, echo.payload)
					} else {
						require.GreaterOrEqual(t, len(echo.payload), 2)
						assert.Equal(t, tc.code, ws.StatusCode(binary.BigEndian.Uint16(echo.payload)), "echoed code")
					}
					if client {
						// §7.1.1: the server closes the TCP connection
						// first; the client waits for it.
						peer.Close()
					} else {
						_, err := readRawFrame(peer.br)
						assert.ErrorIs(t, err, io.EOF, "the server closes after its echo")
					}
					m := recv(t, msgs)
					var ce *ws.CloseError
					require.ErrorAs(t, m.err, &ce)
					assert.Equal(t, tc.code, ce.Code)
					assert.Equal(t, tc.reason, ce.Reason)
					assert.Equal(t, tc.code, ws.CloseStatus(m.err))
				})
			})
		}
	}
}

// TestCloseTimeout checks that Close gives up after Config.CloseTimeout
// when the peer never answers its close frame (RFC 6455 §7.1.1 lets an
// endpoint close the connection after a reasonable wait).
func TestCloseTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const timeout = 100 * time.Millisecond
		c, peer := pipe(t, &ws.ConnOptions{Config: ws.Config{CloseTimeout: timeout}})
		frames := peer.frames(t) // reads, never answers
		start := time.Now()
		err := c.Close(ws.StatusGoingAway, "bye")
		assert.Error(t, err)
		assert.Equal(t, timeout, time.Since(start))
		f := recv(t, frames)
		assert.Equal(t, rawFrame{fin: true, op: opClose, payload: []byte(closePayload(1001, "bye"))}, f)
		assert.Error(t, recv(t, frames).err, "the transport is closed")
		assert.ErrorIs(t, c.Write(t.Context(), ws.MessageText, nil), net.ErrClosed)
	})
}

// TestCloseWhileReading calls Close while another goroutine is blocked in
// Read: the reader sees the peer's answering close frame, and Close
// returns once it has.
func TestCloseWhileReading(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, cli := pipePair(t, nil, nil)
		srvMsgs := readLoop(t, srv)
		cliMsgs := readLoop(t, cli)
		synctest.Wait() // both readers are blocked
		require.NoError(t, cli.Close(ws.StatusNormalClosure, "bye"))
		var ce *ws.CloseError
		require.ErrorAs(t, recv(t, cliMsgs).err, &ce)
		assert.Equal(t, ws.StatusNormalClosure, ce.Code, "the server echoes the code")
		require.ErrorAs(t, recv(t, srvMsgs).err, &ce)
		assert.Equal(t, ws.StatusNormalClosure, ce.Code)
		assert.Equal(t, "bye", ce.Reason)
	})
}

// TestCloseNow checks that CloseNow unblocks a Read at once, without a
// closing handshake, and that later calls fail with net.ErrClosed.
func TestCloseNow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, peer := pipe(t, nil)
		frames := peer.frames(t)
		msgs := readLoop(t, c)
		synctest.Wait()
		require.NoError(t, c.CloseNow())
		assert.ErrorIs(t, recv(t, msgs).err, net.ErrClosed)
		assert.ErrorIs(t, c.CloseNow(), net.ErrClosed)
		assert.ErrorIs(t, c.Close(ws.StatusNormalClosure, ""), net.ErrClosed)
		assert.ErrorIs(t, c.Write(t.Context(), ws.MessageBinary, []byte("x")), net.ErrClosed)
		_, _, err := c.Read(t.Context())
		assert.ErrorIs(t, err, net.ErrClosed)
		f := recv(t, frames)
		assert.Error(t, f.err, "no close frame was sent: %v", f)
	})
}

func TestCloseTwice(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, cli := pipePair(t, nil, nil)
		readLoop(t, srv)
		require.NoError(t, cli.Close(ws.StatusNormalClosure, ""))
		err := cli.Close(ws.StatusNormalClosure, "")
		require.Error(t, err)
		assert.ErrorIs(t, err, net.ErrClosed)
		assert.ErrorIs(t, cli.CloseNow(), net.ErrClosed)
	})
}

// TestCloseInvalidCode checks that Close refuses codes that may not be
// sent (RFC 6455 §7.4.1, §7.4.2) and sends nothing, so a valid Close
// still works afterwards.
func TestCloseInvalidCode(t *testing.T) {
	t.Parallel()
	for _, code := range []ws.StatusCode{0, 999, 1004, 1006, 1015, 1016, 2999, 5000} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				srv, cli := pipePair(t, nil, nil)
				msgs := readLoop(t, srv)
				assert.Error(t, cli.Close(code, "no"))
				require.NoError(t, cli.Write(t.Context(), ws.MessageText, []byte("still open")))
				m := recv(t, msgs)
				require.NoError(t, m.err)
				assert.Equal(t, "still open", string(m.p))
				require.NoError(t, cli.Close(ws.StatusNormalClosure, ""))
				assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(recv(t, msgs).err))
			})
		})
	}
}

// TestCloseConcurrent closes a Conn while other goroutines write to it
// with Write and Writer, and while more goroutines call Close: nothing
// panics or races, exactly one Close completes the handshake, and every
// write that fails says the connection is closed.
func TestCloseConcurrent(t *testing.T) {
	t.Parallel()
	srv, cli := pipePair(t, nil, nil)
	msgs := readLoop(t, srv)

	var wg sync.WaitGroup
	writeErrs := make(chan error, 16)
	for i := range 8 {
		wg.Go(func() {
			payload := []byte(fmt.Sprintf("writer %d", i))
			for {
				var err error
				if i%2 == 0 {
					err = cli.Write(context.Background(), ws.MessageText, payload)
				} else {
					var w interface {
						Write([]byte) (int, error)
						Close() error
					}
					w, err = cli.Writer(context.Background(), ws.MessageText)
					if err == nil {
						if _, err = w.Write(payload); err == nil {
							err = w.Close()
						} else {
							w.Close()
						}
					}
				}
				if err != nil {
					writeErrs <- err
					return
				}
			}
		})
	}
	// Let the writers get going before closing, and keep reading while
	// closing: the server must be able to receive the close frame.
	for range 100 {
		require.NoError(t, recv(t, msgs).err)
	}
	final := make(chan message, 1)
	stop, drained := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case m := <-msgs:
				if m.err != nil || !strings.HasPrefix(string(m.p), "writer ") {
					final <- m
					return
				}
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-drained
	})
	closeErrs := make(chan error, 4)
	var closers sync.WaitGroup
	for range 4 {
		closers.Go(func() { closeErrs <- cli.Close(ws.StatusNormalClosure, "") })
	}
	closers.Wait()
	wg.Wait()
	close(closeErrs)
	close(writeErrs)
	ok := 0
	for err := range closeErrs {
		if err == nil {
			ok++
		} else {
			assert.ErrorIs(t, err, net.ErrClosed)
		}
	}
	assert.Equal(t, 1, ok, "Close calls that completed the handshake")
	for err := range writeErrs {
		assert.ErrorIs(t, err, net.ErrClosed)
	}
	assert.ErrorIs(t, cli.Write(t.Context(), ws.MessageText, []byte("late")), net.ErrClosed)
	// The server saw whole messages, then the close.
	m := <-final
	assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(m.err), "message %q", m.p)
}

// TestCloseDuringWriter closes a Conn while a Writer is in the middle of a
// message. The close frame goes out between fragments (RFC 6455 §5.4
// allows control frames there); the Writer's next fragment then fails,
// but must not cut short the closing handshake that Close is waiting on.
func TestCloseDuringWriter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, peer := pipe(t, &ws.ConnOptions{Config: ws.Config{WriteBufferSize: 64}})
		frames := peer.frames(t)
		w, err := c.Writer(t.Context(), ws.MessageBinary)
		require.NoError(t, err)
		_, err = w.Write(binaryOfSize(100))
		require.NoError(t, err)
		assert.Equal(t, opBinary, recv(t, frames).op)

		closed := make(chan error, 1)
		go func() { closed <- c.Close(ws.StatusNormalClosure, "bye") }()
		assert.Equal(t, rawFrame{fin: true, op: opClose, payload: []byte(closePayload(1000, "bye"))}, recv(t, frames))
		synctest.Wait() // Close waits for the peer's close frame

		_, err = w.Write(binaryOfSize(100))
		assert.ErrorIs(t, err, net.ErrClosed)
		assert.ErrorIs(t, w.Close(), net.ErrClosed)
		synctest.Wait()
		require.Empty(t, closed, "Close gave up before the peer answered")

		peer.send(t, clientFrame("\x88\x02"+closePayload(1000, "")))
		assert.NoError(t, <-closed)
		assert.ErrorIs(t, recv(t, frames).err, io.EOF, "nothing after the close frame")
	})
}

// Close must not take messages from a read loop that is between two Read
// calls: the echoes sent before the peer's close frame all reach it.
func TestCloseLeavesMessagesToReadLoop(t *testing.T) {
	const n = 10
	srv, _ := serve(t, nil, func(ctx context.Context, c *ws.Conn) error {
		for {
			typ, p, err := c.Read(ctx)
			if err != nil {
				return nil
			}
			if err := c.Write(ctx, typ, p); err != nil {
				return nil
			}
		}
	})
	c := dial(t, srv, nil)
	ctx := t.Context()
	got := make(chan int)
	first := make(chan struct{})
	go func() {
		k := 0
		for {
			if _, _, err := c.Read(ctx); err != nil {
				got <- k
				return
			}
			if k++; k == 1 {
				close(first)
			}
		}
	}()
	// The loop is running once it has the first echo.
	require.NoError(t, c.Write(ctx, ws.MessageText, []byte("0")))
	<-first
	for i := 1; i < n; i++ {
		require.NoError(t, c.Write(ctx, ws.MessageText, []byte{byte('0' + i)}))
	}
	require.NoError(t, c.Close(ws.StatusNormalClosure, ""))
	assert.Equal(t, n, <-got, "echoes sent before the server's close reach the read loop")
}
