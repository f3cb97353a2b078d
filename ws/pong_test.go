package ws_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWritePongFlushHonoursContext has a ping arrive while a Write is
// blocked on a peer that reads the Write's frame and then stops reading.
// The Write owes the peer the pong (it holds the frame lock), but sending
// it must not outlive the Write's context: the Write returns when ctx
// expires, its message delivered, and the pong stays queued for the next
// frame, so nothing is lost and the connection goes on.
func TestWritePongFlushHonoursContext(t *testing.T) {
	t.Parallel()
	for _, client := range []bool{false, true} {
		t.Run(map[bool]string{false: "server", true: "client"}[client], func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c, peer := pipe(t, &ws.ConnOptions{Client: client})
				readLoop(t, c)
				ping := wireFrame(0x89, []byte("late"))
				if !client {
					ping = string(clientFrame(ping))
				}

				ctx, cancel := context.WithTimeout(t.Context(), time.Second)
				defer cancel()
				msg := binaryOfSize(1 << 10)
				done := make(chan error, 1)
				start := time.Now()
				go func() { done <- c.Write(ctx, ws.MessageBinary, msg) }()
				synctest.Wait() // the Write holds the frame lock, blocked
				// The reader takes the ping while the Write holds the
				// lock, so the pong waits for the Write to let go.
				peer.send(t, []byte(ping))
				synctest.Wait() // the reader has queued the pong
				f := peer.next(t)
				assert.Equal(t, rawFrame{fin: true, op: opBinary, masked: client, payload: msg}, f)
				// The peer reads no more: the pong cannot go out.
				err := recv(t, done)
				assert.NoError(t, err, "the message went out whole")
				assert.Equal(t, time.Second, time.Since(start), "Write returned when its context expired")

				// The pong was kept, not lost: the next frame carries it.
				frames := peer.frames(t)
				require.NoError(t, c.Write(t.Context(), ws.MessageText, []byte("next")))
				assert.Equal(t, rawFrame{fin: true, op: opText, masked: client, payload: []byte("next")}, recv(t, frames))
				assert.Equal(t, rawFrame{fin: true, op: opPong, masked: client, payload: []byte("late")}, recv(t, frames))
			})
		})
	}
}

// TestPongFlushHonoursReadContext has the reading goroutine owe a pong to
// a peer that does not read: the Read's context bounds the pong's write
// as it bounds the read, so the Read returns when ctx expires, and the
// pong goes out when the peer reads again.
func TestPongFlushHonoursReadContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, peer := pipe(t, nil)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		done := make(chan error, 1)
		start := time.Now()
		go func() {
			_, _, err := c.Read(ctx)
			done <- err
		}()
		peer.send(t, clientFrame("\x89\x02hi"))
		assert.ErrorIs(t, recv(t, done), context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start), "Read returned when its context expired")

		// The connection goes on: the pong is sent by the next frame out.
		frames := peer.frames(t)
		require.NoError(t, c.Write(t.Context(), ws.MessageText, []byte("next")))
		assert.Equal(t, rawFrame{fin: true, op: opText, payload: []byte("next")}, recv(t, frames))
		assert.Equal(t, rawFrame{fin: true, op: opPong, payload: []byte("hi")}, recv(t, frames))
	})
}

// TestPingFloodNonReadingPeer floods pings from a peer that never reads
// while a Write to it is bounded by a deadline: the Write returns at the
// deadline with nothing sent, the Conn's memory does not grow with the
// flood (one pong is kept, for the latest ping), and when the peer reads
// again it finds exactly that one pong.
func TestPingFloodNonReadingPeer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const pings = 10000
		c, peer := pipe(t, nil)
		readLoop(t, c)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- c.Write(ctx, ws.MessageBinary, binaryOfSize(1<<10)) }()
		synctest.Wait() // the Write holds the frame lock: pongs can only be queued

		var flood bytes.Buffer
		for i := range pings {
			flood.Write(clientFrame("\x89\x04" + string(binary.BigEndian.AppendUint32(nil, uint32(i)))))
		}
		peer.send(t, flood.Bytes()) // returns once the Conn has read every ping
		assert.Equal(t, context.DeadlineExceeded, recv(t, done), "nothing of the message went out")

		frames := peer.frames(t)
		require.NoError(t, c.Write(t.Context(), ws.MessageText, []byte("after")))
		assert.Equal(t, rawFrame{fin: true, op: opText, payload: []byte("after")}, recv(t, frames))
		f := recv(t, frames)
		assert.Equal(t, opPong, f.op)
		assert.Equal(t, uint32(pings-1), binary.BigEndian.Uint32(f.payload), "the one pong answers the last ping")
		require.NoError(t, c.Write(t.Context(), ws.MessageText, []byte("end")))
		assert.Equal(t, rawFrame{fin: true, op: opText, payload: []byte("end")}, recv(t, frames), "no other pong was kept")
	})
}
