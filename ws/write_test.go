package ws_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriteFrames checks the frames Write and Writer put on the wire
// (RFC 6455 §5.2, §5.4): Write sends one frame, Writer fragments of at
// most WriteBufferSize bytes, or that and the rest of one larger write,
// that continue the first frame's opcode, and a client masks every frame
// (§5.3).
func TestWriteFrames(t *testing.T) {
	t.Parallel()
	msg := binaryOfSize(1000)
	tests := []struct {
		name   string
		chunks []int // Writer's Write sizes; nil means Write(msg)
		total  int
		want   []int // payload sizes of the frames
	}{
		{"Write", nil, 1000, []int{1000}},
		{"Write empty", nil, 0, []int{0}},
		{"Writer empty", []int{}, 0, []int{0}},
		{"Writer one small write", []int{10}, 10, []int{10}},
		{"Writer exactly one buffer", []int{64}, 64, []int{64}},
		{"Writer one buffer and a byte", []int{64, 1}, 65, []int{64, 1}},
		// A write too large for the buffer goes out with it as one
		// fragment, but for a last buffer-full that Close sends.
		{"Writer one large write", []int{1000}, 1000, []int{936, 64}},
		{"Writer byte by byte", repeat(1, 130), 130, []int{64, 64, 2}},
		{"Writer mixed writes", []int{1, 63, 64, 65, 200, 7}, 400, []int{64, 65, 200, 64, 7}},
	}
	for _, client := range []bool{false, true} {
		for _, tc := range tests {
			role := "server"
			if client {
				role = "client"
			}
			t.Run(role+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					c, peer := pipe(t, &ws.ConnOptions{Client: client, Config: ws.Config{WriteBufferSize: 64}})
					frames := peer.frames(t)
					if tc.chunks == nil {
						require.NoError(t, c.Write(t.Context(), ws.MessageBinary, msg[:tc.total]))
					} else {
						w, err := c.Writer(t.Context(), ws.MessageBinary)
						require.NoError(t, err)
						off := 0
						for _, n := range tc.chunks {
							k, err := w.Write(msg[off : off+n])
							require.NoError(t, err)
							require.Equal(t, n, k)
							off += n
						}
						require.NoError(t, w.Close())
						_, err = w.Write([]byte("x"))
						assert.Error(t, err, "Write after Close")
						assert.Error(t, w.Close(), "second Close")
					}
					got := []byte{}
					for i, n := range tc.want {
						f := recv(t, frames)
						require.NoError(t, f.err)
						wantOp := opContinuation
						if i == 0 {
							wantOp = opBinary
						}
						assert.Equal(t, wantOp, f.op, "frame %d", i)
						assert.Equal(t, i == len(tc.want)-1, f.fin, "FIN of frame %d", i)
						assert.Equal(t, client, f.masked, "mask of frame %d", i)
						assert.Zero(t, f.rsv)
						assert.Len(t, f.payload, n, "frame %d", i)
						got = append(got, f.payload...)
					}
					assert.Equal(t, msg[:tc.total], got)
				})
			})
		}
	}
}

func repeat(n, times int) []int {
	s := make([]int, times)
	for i := range s {
		s[i] = n
	}
	return s
}

func TestWriteBadType(t *testing.T) {
	t.Parallel()
	c, _ := pipe(t, nil)
	for _, typ := range []ws.MessageType{0, 8, 9, 10, 3} {
		assert.Error(t, c.Write(t.Context(), typ, nil), "Write %v", typ)
		_, err := c.Writer(t.Context(), typ)
		assert.Error(t, err, "Writer %v", typ)
		_, err = ws.NewPreparedMessage(typ, nil)
		assert.Error(t, err, "NewPreparedMessage %v", typ)
	}
}

// TestConcurrentWrites has goroutines send messages with Write and with
// Writer at once, while the peer pings: the peer must see every message
// whole and in each goroutine's order, fragments never interleaved with
// another message's (RFC 6455 §5.4), pongs anywhere between frames.
func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	const (
		writers  = 8
		messages = 40
		pings    = 50
	)
	c, peer := pipe(t, &ws.ConnOptions{Config: ws.Config{WriteBufferSize: 64}})
	readLoop(t, c)
	frames := peer.frames(t)

	content := func(g, m int) []byte {
		return fmt.Appendf(nil, "%d/%d/%s", g, m, strings.Repeat(string(rune('a'+g)), (g*31+m*17)%300))
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for g := range writers {
		wg.Go(func() {
			for m := range messages {
				p := content(g, m)
				if (g+m)%2 == 0 {
					if err := c.Write(context.Background(), ws.MessageText, p); err != nil {
						errs <- err
						return
					}
					continue
				}
				w, err := c.Writer(context.Background(), ws.MessageText)
				if err != nil {
					errs <- err
					return
				}
				for len(p) > 0 {
					n := min(len(p), 1+m*7%90)
					if _, err := w.Write(p[:n]); err != nil {
						errs <- err
						return
					}
					p = p[n:]
				}
				if err := w.Close(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range pings {
			if _, err := peer.Write(clientFrame(fmt.Sprintf("\x89\x02%02d", i))); err != nil {
				errs <- err
				return
			}
		}
	})

	got := make([][][]byte, writers)
	var open []byte
	inMessage, pongs := false, 0
	for n := 0; n < writers*messages; {
		f := recv(t, frames)
		require.NoError(t, f.err)
		require.Zero(t, f.rsv)
		switch f.op {
		case opPong:
			pongs++
			continue
		case opText:
			require.False(t, inMessage, "a message began inside another: frames interleaved")
			open = append(open[:0], f.payload...)
		case opContinuation:
			require.True(t, inMessage, "continuation with no message open")
			// Writes are at most 90 bytes: a fragment holds the 64-byte
			// buffer and at most the rest of one write larger than it.
			require.LessOrEqual(t, len(f.payload), 64+90, "Writer fragment larger than the buffer and one write")
			open = append(open, f.payload...)
		default:
			require.Fail(t, "unexpected frame", "%v", f)
		}
		inMessage = !f.fin
		if f.fin {
			var g, m int
			_, err := fmt.Sscanf(string(open), "%d/%d/", &g, &m)
			require.NoError(t, err, "message %q", open)
			got[g] = append(got[g], bytes.Clone(open))
			n++
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for g := range writers {
		require.Len(t, got[g], messages, "messages from writer %d", g)
		for m := range messages {
			assert.Equal(t, string(content(g, m)), string(got[g][m]), "writer %d message %d", g, m)
		}
	}
	assert.LessOrEqual(t, pongs, pings)
}

// The message the context tests read: text whose "ö" is split between two
// fragments, so that resuming also resumes UTF-8 validation (§8.1).
var (
	resumeText = "hello, wörld"
	resumeWire = string(clientFrame("\x01\x09hello, w\xc3")) + string(clientFrame("\x80\x04\xb6rld"))
)

// TestReadCancel cancels a Read at every kind of place in a message: the
// Read returns ctx's error, and the next Read returns the whole message,
// exactly.
func TestReadCancel(t *testing.T) {
	t.Parallel()
	cuts := []struct {
		name string
		at   int // bytes of resumeWire sent before the cancel
	}{
		{"before any byte", 0},
		{"inside the first header", 1},
		{"inside the masking key", 4},
		{"inside the first payload", 10},
		{"between fragments, inside a character", 15},
		{"inside the second header", 16},
		{"inside the last payload", 22},
	}
	for _, cut := range cuts {
		for _, deadline := range []bool{false, true} {
			name := cut.name + "/cancel"
			if deadline {
				name = cut.name + "/deadline"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					c, peer := pipe(t, nil)
					var ctx context.Context
					var cancel context.CancelFunc
					wantErr := context.Canceled
					if deadline {
						ctx, cancel = context.WithTimeout(t.Context(), safetyTimeout/2)
						wantErr = context.DeadlineExceeded
					} else {
						ctx, cancel = context.WithCancel(t.Context())
					}
					defer cancel()
					res := make(chan message, 1)
					go func() {
						typ, p, err := c.Read(ctx)
						res <- message{typ, p, err}
					}()
					if cut.at > 0 {
						peer.send(t, []byte(resumeWire[:cut.at]))
					}
					synctest.Wait()
					require.Empty(t, res, "Read returned before the message was complete")
					if !deadline {
						cancel()
					}
					m := <-res
					assert.Equal(t, wantErr, m.err)
					assert.Nil(t, m.p)

					// Then the rest, and one more message to show that
					// the stream is in step.
					msgs := readLoop(t, c)
					peer.send(t, []byte(resumeWire[cut.at:]), clientFrame("\x82\x03end"))
					m = recv(t, msgs)
					require.NoError(t, m.err)
					assert.Equal(t, ws.MessageText, m.typ)
					assert.Equal(t, resumeText, string(m.p))
					m = recv(t, msgs)
					require.NoError(t, m.err)
					assert.Equal(t, ws.MessageBinary, m.typ)
					assert.Equal(t, "end", string(m.p))
				})
			})
		}
	}
}

// TestWriteCancel cancels a Write blocked because the peer does not read
// (a net.Pipe has no buffer). With nothing of the frame sent, the Write
// returns ctx's error and the connection goes on; with part of it sent,
// the peer could never find the next frame, so the connection is closed.
func TestWriteCancel(t *testing.T) {
	t.Parallel()
	for _, client := range []bool{false, true} {
		for _, deadline := range []bool{false, true} {
			name := fmt.Sprintf("client=%v/deadline=%v", client, deadline)
			newCtx := func(t *testing.T) (context.Context, context.CancelFunc, error) {
				if deadline {
					ctx, cancel := context.WithTimeout(t.Context(), safetyTimeout/2)
					return ctx, cancel, context.DeadlineExceeded
				}
				ctx, cancel := context.WithCancel(t.Context())
				return ctx, cancel, context.Canceled
			}
			t.Run(name+"/nothing sent", func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					c, peer := pipe(t, &ws.ConnOptions{Client: client})
					ctx, cancel, wantErr := newCtx(t)
					defer cancel()
					done := make(chan error, 1)
					go func() { done <- c.Write(ctx, ws.MessageBinary, binaryOfSize(1<<10)) }()
					synctest.Wait()
					require.Empty(t, done, "Write returned while the peer did not read")
					if !deadline {
						cancel()
					}
					assert.Equal(t, wantErr, <-done)

					frames := peer.frames(t)
					require.NoError(t, c.Write(t.Context(), ws.MessageText, []byte("next")))
					f := recv(t, frames)
					require.NoError(t, f.err)
					assert.Equal(t, rawFrame{fin: true, op: opText, masked: client, payload: []byte("next")}, f,
						"the first frame the peer sees is the next message: nothing of the cancelled one")
				})
			})
			t.Run(name+"/part sent", func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					c, peer := pipe(t, &ws.ConnOptions{Client: client})
					ctx, cancel, wantErr := newCtx(t)
					defer cancel()
					done := make(chan error, 1)
					go func() { done <- c.Write(ctx, ws.MessageBinary, binaryOfSize(1<<10)) }()
					var head [3]byte
					_, err := io.ReadFull(peer, head[:])
					require.NoError(t, err)
					synctest.Wait()
					require.Empty(t, done)
					if !deadline {
						cancel()
					}
					err = <-done
					assert.ErrorIs(t, err, wantErr)
					assert.ErrorContains(t, err, "connection closed")
					assert.ErrorIs(t, c.Write(t.Context(), ws.MessageText, []byte("x")), net.ErrClosed)
					_, _, err = c.Read(t.Context())
					assert.ErrorIs(t, err, net.ErrClosed)
					_, err = io.ReadAll(peer)
					assert.NoError(t, err, "the peer sees the connection end")
				})
			})
		}
	}
}

// TestWriteCancelWaiting cancels Writes that wait for another message to
// finish: nothing was sent, so the connection goes on.
func TestWriteCancelWaiting(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, peer := pipe(t, nil)
		frames := peer.frames(t)
		w, err := c.Writer(t.Context(), ws.MessageText)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 2)
		go func() { done <- c.Write(ctx, ws.MessageText, []byte("never")) }()
		go func() {
			_, err := c.Writer(ctx, ws.MessageText)
			done <- err
		}()
		synctest.Wait()
		require.Empty(t, done)
		cancel()
		assert.Equal(t, context.Canceled, <-done)
		assert.Equal(t, context.Canceled, <-done)
		_, err = w.Write([]byte("first"))
		require.NoError(t, err)
		require.NoError(t, w.Close())
		require.NoError(t, c.Write(t.Context(), ws.MessageText, []byte("second")))
		assert.Equal(t, "first", string(recv(t, frames).payload))
		assert.Equal(t, "second", string(recv(t, frames).payload))
	})
}

// TestWriterCancel cancels a Writer whose fragment is blocked: the peer
// has an unfinished message, so the connection is closed.
func TestWriterCancel(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, peer := pipe(t, &ws.ConnOptions{Config: ws.Config{WriteBufferSize: 64}})
		ctx, cancel := context.WithCancel(t.Context())
		w, err := c.Writer(ctx, ws.MessageBinary)
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() {
			_, err := w.Write(binaryOfSize(200)) // one fragment of all but a last buffer-full
			if err == nil {
				_, err = w.Write(binaryOfSize(200))
			}
			done <- err
		}()
		// The peer reads the first fragment, then stops.
		f := peer.next(t)
		assert.Equal(t, rawFrame{op: opBinary, payload: binaryOfSize(200)[:136]}, f)
		synctest.Wait()
		require.Empty(t, done)
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
		assert.Error(t, w.Close())
		assert.ErrorIs(t, c.Write(t.Context(), ws.MessageText, []byte("x")), net.ErrClosed)
		_, err = readRawFrame(peer.br)
		assert.ErrorIs(t, err, io.EOF, "the connection is closed")
	})
}
