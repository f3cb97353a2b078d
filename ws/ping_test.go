package ws_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPingAnswered checks that a ping is answered by a pong with the same
// payload (RFC 6455 §5.5.2, §5.5.3), masked when the Conn is a client
// (§5.3), while a goroutine reads.
func TestPingAnswered(t *testing.T) {
	t.Parallel()
	for _, client := range []bool{false, true} {
		for _, n := range []int{0, 1, 125} {
			role := "server"
			if client {
				role = "client"
			}
			t.Run(fmt.Sprintf("%s/%d", role, n), func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					c, peer := pipe(t, &ws.ConnOptions{Client: client})
					readLoop(t, c)
					payload := binaryOfSize(n)
					ping := wireFrame(0x89, payload)
					if client {
						peer.send(t, []byte(ping))
					} else {
						peer.send(t, clientFrame(ping))
					}
					f := peer.next(t)
					assert.Equal(t, opPong, f.op)
					assert.True(t, f.fin)
					assert.Equal(t, client, f.masked)
					assert.Equal(t, payload, f.payload)
				})
			})
		}
	}
}

// TestPingBetweenFragments sends pings between the fragments of a message
// (RFC 6455 §5.4: control frames may be injected mid-message); each is
// answered at once, and the message arrives whole.
func TestPingBetweenFragments(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, peer := pipe(t, nil)
		msgs := readLoop(t, c)
		peer.send(t, clientFrame("\x01\x03hel"), clientFrame("\x89\x02p1"))
		f := peer.next(t)
		assert.Equal(t, opPong, f.op)
		assert.Equal(t, "p1", string(f.payload))
		// The pong went out before the message ended: a Conn that held
		// it back would deadlock here, on a pipe with no buffer.
		peer.send(t, clientFrame("\x00\x01l"), clientFrame("\x89\x02p2"))
		f = peer.next(t)
		assert.Equal(t, opPong, f.op)
		assert.Equal(t, "p2", string(f.payload))
		peer.send(t, clientFrame("\x80\x01o"))
		m := recv(t, msgs)
		require.NoError(t, m.err)
		assert.Equal(t, "hello", string(m.p))
	})
}

// TestPongBetweenOurFragments checks that a pong goes out between the
// fragments of a message the Conn is sending with Writer, rather than
// after the whole message.
func TestPongBetweenOurFragments(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, peer := pipe(t, &ws.ConnOptions{Config: ws.Config{WriteBufferSize: 64}})
		readLoop(t, c)
		frames := peer.frames(t)
		msg := binaryOfSize(200)

		w, err := c.Writer(t.Context(), ws.MessageBinary)
		require.NoError(t, err)
		_, err = w.Write(msg[:100]) // one full 64-byte fragment; 36 bytes stay buffered
		require.NoError(t, err)
		f := recv(t, frames)
		require.NoError(t, f.err)
		assert.Equal(t, rawFrame{op: opBinary, payload: msg[:64]}, f)

		peer.send(t, clientFrame("\x89\x04mid!"))
		f = recv(t, frames)
		require.NoError(t, f.err)
		assert.Equal(t, rawFrame{fin: true, op: opPong, payload: []byte("mid!")}, f)

		// The buffer fills, and the rest of the write does not fit in it:
		// both go out as one fragment but for a last buffer-full, which
		// Close sends.
		_, err = w.Write(msg[100:])
		require.NoError(t, err)
		require.NoError(t, w.Close())
		for _, want := range []rawFrame{
			{op: opContinuation, payload: msg[64:136]},
			{fin: true, op: opContinuation, payload: msg[136:]},
		} {
			f = recv(t, frames)
			require.NoError(t, f.err)
			assert.Equal(t, want, f)
		}
	})
}

func TestPingPongHooks(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var pings, pongs []string
		c, peer := pipe(t, &ws.ConnOptions{Config: ws.Config{
			// The payloads are only valid during the call: copy them.
			OnPing: func(p []byte) {
				mu.Lock()
				pings = append(pings, string(p))
				mu.Unlock()
			},
			OnPong: func(p []byte) {
				mu.Lock()
				pongs = append(pongs, string(p))
				mu.Unlock()
			},
		}})
		msgs := readLoop(t, c)
		peer.send(t, clientFrame("\x89\x05hello"))
		assert.Equal(t, "hello", string(peer.next(t).payload))
		// §5.5.3: an unsolicited pong is allowed and needs no answer.
		peer.send(t, clientFrame("\x8a\x03one"), clientFrame("\x8a\x00"), clientFrame("\x89\x00"))
		assert.Equal(t, opPong, peer.next(t).op)
		peer.send(t, clientFrame("\x81\x02ok"))
		require.NoError(t, recv(t, msgs).err)
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, []string{"hello", ""}, pings)
		assert.Equal(t, []string{"one", ""}, pongs)
	})
}

// TestPing checks that Ping returns once the pong arrives and measures the
// round trip. It runs on the real clock: in a synctest bubble no time
// passes while goroutines run, so the RTT would be 0.
func TestPing(t *testing.T) {
	t.Parallel()
	srv, cli := pipePair(t, nil, nil)
	readLoop(t, srv)
	readLoop(t, cli)
	for _, c := range []*ws.Conn{cli, srv} {
		assert.Zero(t, c.RTT(), "RTT before any ping")
		ctx, cancel := context.WithTimeout(t.Context(), safetyTimeout)
		require.NoError(t, c.Ping(ctx))
		cancel()
		assert.Positive(t, c.RTT())
	}
	// Pings in flight at once are told apart by their payloads.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- cli.Ping(t.Context()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

// TestPingUnanswered checks that Ping gives up with ctx's error when no
// pong comes, and that the connection stays usable.
func TestPingUnanswered(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, peer := pipe(t, nil)
		readLoop(t, c)
		frames := peer.frames(t)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		err := c.Ping(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start))
		f := recv(t, frames)
		assert.Equal(t, opPing, f.op, "the ping went out")

		ctx, cancel = context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Ping(ctx) }()
		assert.Equal(t, opPing, recv(t, frames).op)
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)

		assert.Zero(t, c.RTT())
		require.NoError(t, c.Write(t.Context(), ws.MessageText, []byte("still here")))
		assert.Equal(t, "still here", string(recv(t, frames).payload))
	})
}

// TestPingFlood has the peer send 10,000 pings while it reads nothing and
// the Conn is stuck writing a message to it. The Conn keeps only the
// latest payload (RFC 6455 §5.5.3 lets it answer just the most recent
// ping), so its memory does not grow: when the peer reads again it finds
// the message, then one pong, for the last ping.
func TestPingFlood(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const pings = 10000
		c, peer := pipe(t, nil)
		msgs := readLoop(t, c)
		big := binaryOfSize(1 << 10)
		written := make(chan error, 1)
		go func() { written <- c.Write(context.Background(), ws.MessageBinary, big) }()
		synctest.Wait() // the Write is blocked: the peer does not read

		var flood bytes.Buffer
		for i := range pings {
			flood.Write(clientFrame("\x89\x04" + string(binary.BigEndian.AppendUint32(nil, uint32(i)))))
		}
		peer.send(t, flood.Bytes())
		synctest.Wait() // every ping has been read and answered, or not

		f := peer.next(t)
		assert.Equal(t, rawFrame{fin: true, op: opBinary, payload: big}, f)
		// The writer that held the connection sends the pending pong
		// before it lets go.
		f = peer.next(t)
		assert.Equal(t, opPong, f.op)
		assert.Equal(t, uint32(pings-1), binary.BigEndian.Uint32(f.payload), "the pong answers the last ping")
		require.NoError(t, <-written)

		// No other pong is pending, and the connection works both ways.
		peer.send(t, clientFrame("\x81\x04done"))
		m := recv(t, msgs)
		require.NoError(t, m.err)
		assert.Equal(t, "done", string(m.p))
		frames := peer.frames(t)
		require.NoError(t, c.Write(t.Context(), ws.MessageText, []byte("after")))
		assert.Equal(t, rawFrame{fin: true, op: opText, payload: []byte("after")}, recv(t, frames))
	})
}

// TestPingFloodTCP floods a server over a real connection while not
// reading, then reads: at most one pong per ping, and the connection
// still echoes.
func TestPingFloodTCP(t *testing.T) {
	checkGoroutines(t)
	srv, errs := serve(t, nil, echo)
	peer := rawDial(t, srv)
	const pings = 10000
	var flood bytes.Buffer
	for range pings {
		flood.Write(clientFrame("\x89\x00"))
	}
	flood.Write(clientFrame("\x81\x04done"))
	peer.send(t, flood.Bytes())
	n := 0
	for {
		f := peer.next(t)
		if f.op != opPong {
			assert.Equal(t, rawFrame{fin: true, op: opText, payload: []byte("done")}, f)
			break
		}
		n++
	}
	assert.LessOrEqual(t, n, pings)
	assert.Positive(t, n)
	peer.send(t, clientFrame("\x88\x02"+closePayload(1000, "")))
	peer.requireClose(t, ws.StatusNormalClosure)
	assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(recv(t, errs)))
}

// TestKeepalive checks that keepalive pings are sent every PingInterval,
// answered, and timed, on a live connection.
func TestKeepalive(t *testing.T) {
	checkGoroutines(t)
	srv, errs := serve(t, nil, echo)
	pongs := make(chan struct{}, 16)
	c := dial(t, srv, &ws.DialOptions{Config: ws.Config{
		PingInterval: 10 * time.Millisecond,
		OnPong: func([]byte) {
			select {
			case pongs <- struct{}{}:
			default:
			}
		},
	}})
	msgs := readLoop(t, c)
	// The second pong comes only after the first Ping returned and
	// recorded its round trip.
	for range 3 {
		recv(t, pongs)
	}
	assert.Positive(t, c.RTT())
	require.NoError(t, c.Write(t.Context(), ws.MessageText, []byte("alive")))
	m := recv(t, msgs)
	require.NoError(t, m.err)
	assert.Equal(t, "alive", string(m.p))
	require.NoError(t, c.Close(ws.StatusNormalClosure, ""))
	assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(recv(t, errs)))
}

// TestKeepaliveTimeout checks that keepalive closes a connection whose
// peer stops answering pings, within PingInterval + PongTimeout, and that
// Read says why.
func TestKeepaliveTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                      string
		interval, timeout, window time.Duration
	}{
		{"PongTimeout", 50 * time.Millisecond, 20 * time.Millisecond, 70 * time.Millisecond},
		{"PongTimeout defaults to PingInterval", 50 * time.Millisecond, 0, 100 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c, peer := pipe(t, &ws.ConnOptions{Config: ws.Config{PingInterval: tc.interval, PongTimeout: tc.timeout}})
				start := time.Now()
				msgs := readLoop(t, c)
				// The peer reads (pings included) but never answers.
				frames := peer.frames(t)
				m := recv(t, msgs)
				elapsed := time.Since(start)
				assert.ErrorIs(t, m.err, ws.ErrPongTimeout)
				assert.Equal(t, ws.StatusAbnormalClosure, ws.CloseStatus(m.err))
				// Not before the pong was due, and not much after.
				assert.GreaterOrEqual(t, elapsed, tc.window)
				assert.LessOrEqual(t, elapsed, tc.window+10*time.Millisecond)
				f := recv(t, frames)
				assert.Equal(t, opPing, f.op)
				// The transport is closed.
				for f.err == nil {
					f = recv(t, frames)
				}
				assert.ErrorIs(t, f.err, io.EOF)
			})
		})
	}
}
