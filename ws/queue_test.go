package ws_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQueueOrder sends plain and prepared messages through a Queue from
// one goroutine: the peer gets every one, in order, and the payload Send
// was given can be reused at once.
func TestQueueOrder(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, cli := pipePair(t, nil, nil)
		msgs := readLoop(t, cli)
		q := ws.NewQueue(srv, nil)
		const n = 200
		buf := make([]byte, 0, 16)
		for i := range n {
			if i%2 == 0 {
				pm, err := ws.NewPreparedMessage(ws.MessageText, fmt.Appendf(nil, "p%d", i))
				require.NoError(t, err)
				require.NoError(t, q.SendPrepared(t.Context(), pm))
				continue
			}
			buf = fmt.Appendf(buf[:0], "m%d", i)
			require.NoError(t, q.Send(t.Context(), ws.MessageBinary, buf))
			copy(buf, "XXXX") // the queue holds its own copy
		}
		for i := range n {
			m := recv(t, msgs)
			require.NoError(t, m.err)
			want, typ := fmt.Sprintf("m%d", i), ws.MessageBinary
			if i%2 == 0 {
				want, typ = fmt.Sprintf("p%d", i), ws.MessageText
			}
			assert.Equal(t, want, string(m.p))
			assert.Equal(t, typ, m.typ)
		}
		require.NoError(t, q.Flush(t.Context()))
		assert.Zero(t, q.Buffered())
		assert.NoError(t, q.Err())

		q.Close()
		<-q.Done()
		assert.Equal(t, ws.ErrQueueClosed, q.Err())
		assert.Equal(t, ws.ErrQueueClosed, q.Send(t.Context(), ws.MessageText, []byte("late")))
		assert.NoError(t, srv.Write(t.Context(), ws.MessageText, []byte("conn still open")))
		assert.Equal(t, "conn still open", string(recv(t, msgs).p))
	})
}

// stalled returns a server Conn whose raw peer reads nothing until the
// test reads from it, and a Queue on the Conn with opts.
func stalled(t *testing.T, opts *ws.QueueOptions) (*ws.Conn, *rawPeer, *ws.Queue) {
	t.Helper()
	c, peer := pipe(t, nil)
	return c, peer, ws.NewQueue(c, opts)
}

// fill sends messages of the given sizes, each of which must fit: the
// first alone, waiting until the queue's goroutine is blocked writing it,
// so that the rest wait behind it rather than join its write.
func fill(t *testing.T, q *ws.Queue, sizes ...int) {
	t.Helper()
	for i, n := range sizes {
		require.NoError(t, q.Send(t.Context(), ws.MessageBinary, binaryOfSize(n)), "message %d", i)
		if i == 0 {
			synctest.Wait()
		}
	}
}

// TestQueueDrop fills a queue whose peer does not read: a message that
// does not fit is dropped and counted, and the rest arrive once the peer
// reads, the connection intact.
func TestQueueDrop(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, peer, q := stalled(t, &ws.QueueOptions{MaxBytes: 100, Policy: ws.QueueDrop})
		fill(t, q, 60, 40) // the first is being written; both are held
		assert.Equal(t, 100, q.Buffered())
		assert.Equal(t, ws.ErrQueueFull, q.Send(t.Context(), ws.MessageBinary, binaryOfSize(1)))
		assert.Equal(t, ws.ErrQueueFull, q.Send(t.Context(), ws.MessageBinary, binaryOfSize(5)))
		assert.Equal(t, int64(2), q.Dropped())
		assert.Equal(t, 100, q.Buffered(), "what was dropped takes no room")

		frames := peer.frames(t)
		assert.Len(t, recv(t, frames).payload, 60)
		assert.Len(t, recv(t, frames).payload, 40)
		require.NoError(t, q.Flush(t.Context()))
		assert.Zero(t, q.Buffered())
		require.NoError(t, q.Send(t.Context(), ws.MessageText, []byte("room again")))
		assert.Equal(t, "room again", string(recv(t, frames).payload))
		assert.NoError(t, q.Err())
	})
}

// TestQueueBlock fills a queue whose peer does not read: Send waits for
// room until its context ends, and goes on once the peer reads.
func TestQueueBlock(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, peer, q := stalled(t, &ws.QueueOptions{MaxMessages: 2})
		fill(t, q, 0, 0)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		assert.Equal(t, context.DeadlineExceeded, q.Send(ctx, ws.MessageText, []byte("late")))
		assert.Equal(t, time.Second, time.Since(start))

		sent := make(chan error, 1)
		go func() { sent <- q.Send(t.Context(), ws.MessageText, []byte("waited")) }()
		synctest.Wait()
		require.Empty(t, sent, "Send waits while the queue is full")
		frames := peer.frames(t)
		require.NoError(t, recv(t, sent))
		for _, want := range []string{"", "", "waited"} {
			assert.Equal(t, want, string(recv(t, frames).payload))
		}
		assert.Zero(t, q.Dropped())
	})
}

// TestQueueClosePolicy fills a queue whose peer does not read, under
// QueueClose: the queue gives up on the peer, discards what waits,
// finishes the message being written and closes the connection with the
// stated code.
func TestQueueClosePolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		opts   ws.QueueOptions
		code   ws.StatusCode
		reason string
	}{
		{"default code", ws.QueueOptions{MaxBytes: 100, Policy: ws.QueueClose}, ws.StatusTryAgainLater, "too slow"},
		{"stated code", ws.QueueOptions{MaxBytes: 100, Policy: ws.QueueClose, CloseCode: ws.StatusPolicyViolation, CloseReason: "keep up"}, ws.StatusPolicyViolation, "keep up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c, peer, q := stalled(t, &tc.opts)
				fill(t, q, 60, 40)
				assert.Equal(t, ws.ErrQueueFull, q.Send(t.Context(), ws.MessageBinary, binaryOfSize(1)))
				assert.Equal(t, ws.ErrQueueFull, q.Err())
				assert.Equal(t, 60, q.Buffered(), "only the message being written is held")
				assert.Equal(t, ws.ErrQueueFull, q.Send(t.Context(), ws.MessageBinary, nil))

				f := peer.next(t)
				assert.Len(t, f.payload, 60, "the message being written is finished")
				f = peer.next(t)
				require.Equal(t, opClose, f.op, "then the close frame: the waiting message is gone")
				assert.Equal(t, closePayload(uint16(tc.code), tc.reason), string(f.payload))
				peer.send(t, clientFrame("\x88\x02"+closePayload(uint16(tc.code), "")))
				<-q.Done()
				assert.Zero(t, q.Buffered())
				assert.Equal(t, tc.code, c.Stats().CloseSent)
				assert.ErrorIs(t, c.Write(t.Context(), ws.MessageText, nil), net.ErrClosed)
			})
		})
	}
}

// TestQueueWriteTimeout has a peer stop reading: the queue gives up on it
// after WriteTimeout, whatever the policy, and closes the connection as
// too slow. Nothing of the message went out, so the close frame can.
func TestQueueWriteTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, peer, q := stalled(t, &ws.QueueOptions{WriteTimeout: time.Second, Policy: ws.QueueDrop})
		start := time.Now()
		fill(t, q, 10, 20)
		assert.ErrorIs(t, q.Flush(t.Context()), context.DeadlineExceeded, "Flush reports why the queue stopped")
		assert.Equal(t, time.Second, time.Since(start), "the queue gave up after WriteTimeout")
		f := peer.next(t) // the peer reads again, too late
		require.Equal(t, opClose, f.op, "the message timed out with none of it sent")
		assert.Equal(t, closePayload(uint16(ws.StatusTryAgainLater), "too slow"), string(f.payload))
		assert.ErrorIs(t, q.Err(), context.DeadlineExceeded)
		assert.ErrorIs(t, q.Send(t.Context(), ws.MessageText, nil), context.DeadlineExceeded)
		_, err := readRawFrame(peer.br)
		assert.ErrorIs(t, err, io.EOF, "no answer to the close frame: the Conn closes after CloseTimeout")
		<-q.Done()
		assert.Zero(t, q.Buffered())
	})
}

// TestQueueConnClosed checks that a queue stops, and its goroutine ends,
// when its connection is closed, whether the queue is idle or writing.
func TestQueueConnClosed(t *testing.T) {
	t.Parallel()
	for _, busy := range []bool{false, true} {
		t.Run(fmt.Sprintf("busy=%v", busy), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c, _, q := stalled(t, nil)
				if busy {
					fill(t, q, 10)
				}
				c.CloseNow()
				<-q.Done()
				assert.ErrorIs(t, q.Err(), net.ErrClosed)
				assert.ErrorIs(t, q.Send(t.Context(), ws.MessageText, nil), net.ErrClosed)
				assert.Zero(t, q.Buffered())
				q.Close() // does nothing now
				assert.ErrorIs(t, q.Err(), net.ErrClosed)
			})
		})
	}
	// The close lands while the queue's goroutine is inside its last
	// write, which then succeeds: Done must still close.
	t.Run("closed during the last write", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			tr := &gateConn{entered: make(chan struct{}), release: make(chan struct{}), closed: make(chan struct{})}
			c := ws.NewConn(tr, nil)
			q := ws.NewQueue(c, nil)
			require.NoError(t, q.Send(t.Context(), ws.MessageText, []byte("last")))
			<-tr.entered
			c.CloseNow()
			close(tr.release)
			<-q.Done() // a deadlock here fails the bubble
			assert.ErrorIs(t, q.Err(), net.ErrClosed)
		})
	})
	t.Run("closed first", func(t *testing.T) {
		t.Parallel()
		c, _ := pipe(t, nil)
		c.CloseNow()
		q := ws.NewQueue(c, nil)
		<-q.Done()
		assert.ErrorIs(t, q.Send(t.Context(), ws.MessageText, nil), net.ErrClosed)
	})
}

// TestQueueLimits checks the bounds: MaxMessages holds however small the
// messages, and a message larger than MaxBytes goes out only alone.
func TestQueueLimits(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, peer, q := stalled(t, &ws.QueueOptions{MaxBytes: 10, MaxMessages: 3, Policy: ws.QueueDrop})
		fill(t, q, 0, 0, 0)
		assert.Equal(t, ws.ErrQueueFull, q.Send(t.Context(), ws.MessageText, nil))
		frames := peer.frames(t)
		for range 3 {
			recv(t, frames)
		}
		require.NoError(t, q.Flush(t.Context()))
		// Alone, a message over MaxBytes is taken; then nothing fits.
		require.NoError(t, q.Send(t.Context(), ws.MessageBinary, binaryOfSize(25)))
		assert.Equal(t, 25, q.Buffered())
		assert.Equal(t, ws.ErrQueueFull, q.Send(t.Context(), ws.MessageText, nil))
		assert.Len(t, recv(t, frames).payload, 25)
		require.NoError(t, q.Flush(t.Context()))
	})
}

// TestQueueFlushContext checks that Flush gives up when its context ends
// and reports why the queue stopped.
func TestQueueFlushContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, _, q := stalled(t, &ws.QueueOptions{WriteTimeout: -1})
		fill(t, q, 5)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		assert.Equal(t, context.DeadlineExceeded, q.Flush(ctx))
		assert.Equal(t, 5, q.Buffered(), "no write timeout: still writing")
		c.CloseNow()
		assert.ErrorIs(t, q.Flush(t.Context()), net.ErrClosed)
	})
}

// TestQueueConcurrent sends from many goroutines while others read
// Buffered, for the race detector: every message arrives once, and each
// sender's messages in its order.
func TestQueueConcurrent(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, cli := pipePair(t, nil, nil)
		msgs := readLoop(t, cli)
		q := ws.NewQueue(srv, &ws.QueueOptions{MaxMessages: 4})
		const senders, each = 4, 50
		errs := make(chan error, senders)
		for s := range senders {
			go func() {
				for i := range each {
					if err := q.Send(t.Context(), ws.MessageText, fmt.Appendf(nil, "%d %d", s, i)); err != nil {
						errs <- err
						return
					}
					_ = q.Buffered()
				}
				errs <- nil
			}()
		}
		next := make([]int, senders)
		for range senders * each {
			m := recv(t, msgs)
			require.NoError(t, m.err)
			var s, i int
			_, err := fmt.Sscanf(string(m.p), "%d %d", &s, &i)
			require.NoError(t, err)
			assert.Equal(t, next[s], i, "sender %d's messages in order", s)
			next[s] = i + 1
		}
		for range senders {
			require.NoError(t, recv(t, errs))
		}
	})
}

// TestQueueIdleCostsNoGoroutine checks that the queue's goroutine runs
// only while the queue holds messages: once it is drained, the goroutine
// count is back where it was, though the queue is still open.
func TestQueueIdleCostsNoGoroutine(t *testing.T) {
	checkGoroutines(t)
	srv, cli := pipePair(t, nil, nil)
	msgs := readLoop(t, cli)
	base := runtime.NumGoroutine()
	q := ws.NewQueue(srv, nil)
	for range 10 {
		require.NoError(t, q.Send(t.Context(), ws.MessageText, []byte("x")))
	}
	for range 10 {
		require.NoError(t, recv(t, msgs).err)
	}
	require.NoError(t, q.Flush(t.Context()))
	waitGoroutines(t, base)
	assert.NoError(t, q.Err(), "still open")
	require.NoError(t, q.Send(t.Context(), ws.MessageText, []byte("y")))
	assert.Equal(t, "y", string(recv(t, msgs).p))
}

// gateConn is a transport whose first Write waits, having said so on
// entered, until release is closed, and then succeeds even if the
// transport was closed meanwhile; Read waits for Close.
type gateConn struct {
	entered, release, closed chan struct{}
	once, closeOnce          sync.Once
}

func (g *gateConn) Write(p []byte) (int, error) {
	g.once.Do(func() {
		close(g.entered)
		<-g.release
	})
	return len(p), nil
}

func (g *gateConn) Read([]byte) (int, error) {
	<-g.closed
	return 0, io.EOF
}

func (g *gateConn) Close() error {
	g.closeOnce.Do(func() { close(g.closed) })
	return nil
}

// TestQueueBatches queues a burst behind a write the peer does not take:
// once it does, the burst leaves in a few writes, not one per message,
// byte for byte as each message alone, in order. Prepared messages, a
// message too large for the buffer and an empty one are among them.
func TestQueueBatches(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		cc := &countingConn{Conn: a}
		c := ws.NewConn(cc, nil)
		defer c.CloseNow()
		defer b.Close()
		q := ws.NewQueue(c, nil)

		require.NoError(t, q.Send(t.Context(), ws.MessageText, []byte("first")))
		synctest.Wait() // the queue's goroutine is blocked writing it
		want := wireFrame(0x81, []byte("first"))
		const n = 200
		for i := range n {
			p := fmt.Appendf(nil, "message %d", i)
			switch {
			case i%3 == 0:
				pm, err := ws.NewPreparedMessage(ws.MessageBinary, p)
				require.NoError(t, err)
				require.NoError(t, q.SendPrepared(t.Context(), pm))
				want += wireFrame(0x82, p)
			case i == 100:
				p = binaryOfSize(ws.DefaultBufferSize + 1<<10) // too large to hold
				require.NoError(t, q.Send(t.Context(), ws.MessageBinary, p))
				want += wireFrame(0x82, p)
			case i == 101:
				require.NoError(t, q.Send(t.Context(), ws.MessageText, nil))
				want += wireFrame(0x81, nil)
			default:
				require.NoError(t, q.Send(t.Context(), ws.MessageText, p))
				want += wireFrame(0x81, p)
			}
		}
		assert.Equal(t, int32(1), cc.writes.Load())

		got := make([]byte, len(want))
		_, err := io.ReadFull(b, got)
		require.NoError(t, err)
		require.NoError(t, q.Flush(t.Context()))
		assert.Equal(t, want, string(got))
		// 200 messages of some 12 bytes fill the buffer less than once,
		// but the large one, written from its own slice, costs a write of
		// its own (net.Pipe has no writev) and ends the run.
		assert.LessOrEqual(t, cc.writes.Load(), int32(6), "%d messages took %d writes", n+1, cc.writes.Load())
		assert.Zero(t, q.Buffered())
		assert.NoError(t, q.Err())
	})
}

// TestQueueWriteTimeoutInBatch has a peer stop reading in the middle of a
// burst: the write that carries a run of messages times out, and the peer
// gets the messages before that run's last, then the close frame.
func TestQueueWriteTimeoutInBatch(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, peer, q := stalled(t, &ws.QueueOptions{WriteTimeout: time.Second})
		fill(t, q, 1, 2, 3, 4)
		f := peer.next(t) // the write of the first completes
		require.Len(t, f.payload, 1)
		// Now 2, 3 and 4 leave in one write that the peer does not take.
		assert.ErrorIs(t, q.Flush(t.Context()), context.DeadlineExceeded)
		assert.ErrorIs(t, q.Err(), context.DeadlineExceeded)
		for _, n := range []int{2, 3} {
			f = peer.next(t)
			require.Equal(t, opBinary, f.op)
			assert.Len(t, f.payload, n)
		}
		f = peer.next(t)
		require.Equal(t, opClose, f.op, "4 was the write that timed out")
		assert.Equal(t, closePayload(uint16(ws.StatusTryAgainLater), "too slow"), string(f.payload))
		<-q.Done()
		assert.Zero(t, q.Buffered())
	})
}

// TestQueueAllocs checks that a burst of prepared messages costs no
// allocation per message, over TCP, where the write timeout is a
// deadline on the socket: what remains per burst is the queue's goroutine
// and Flush's wait.
func TestQueueAllocs(t *testing.T) {
	c, peer := tcpPeer(t, nil)
	discard(t, peer)
	q := ws.NewQueue(c, nil)
	pm, err := ws.NewPreparedMessage(ws.MessageBinary, binaryOfSize(128))
	require.NoError(t, err)
	ctx := context.Background()
	const burst = 32
	allocs := testing.AllocsPerRun(100, func() {
		for range burst {
			if serr := q.SendPrepared(ctx, pm); serr != nil {
				err = serr
			}
		}
		if ferr := q.Flush(ctx); ferr != nil {
			err = ferr
		}
	})
	require.NoError(t, err)
	t.Logf("%.1f allocations per burst of %d", allocs, burst)
	assert.LessOrEqual(t, allocs, 4.0+poolSlack)
}
