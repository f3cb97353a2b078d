package ws_test

import (
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"testing"

	"github.com/ab7c482b/websocket/frame"
	"github.com/ab7c482b/websocket/handshake"
	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests check permessage-deflate (RFC 7692) against compress/flate
// used directly, not against the package's own codec.

// deflateRaw compresses p as one message: a sync-flushed deflate stream
// without its 4-byte tail (RFC 7692 §7.2.1).
func deflateRaw(t testing.TB, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	fw, err := flate.NewWriter(&b, flate.BestSpeed)
	require.NoError(t, err)
	_, err = fw.Write(p)
	require.NoError(t, err)
	require.NoError(t, fw.Flush())
	z := b.Bytes()
	require.Equal(t, []byte{0, 0, 0xff, 0xff}, z[len(z)-4:])
	return z[:len(z)-4]
}

// inflateRaw decompresses one message's payload (RFC 7692 §7.2.2).
func inflateRaw(t testing.TB, z []byte) []byte {
	t.Helper()
	fr := flate.NewReader(io.MultiReader(bytes.NewReader(z), bytes.NewReader([]byte{0, 0, 0xff, 0xff})))
	p, err := io.ReadAll(fr)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF, "a sync flush does not end the deflate stream")
	return p
}

// deflateExts is what a handshake agreeing plain permessage-deflate
// returns: context takeover allowed both ways.
var deflateExts = []handshake.Extension{{Name: "permessage-deflate"}}

func noTakeoverExts() []handshake.Extension {
	return []handshake.Extension{{Name: "permessage-deflate", Params: []handshake.Param{
		{Name: "server_no_context_takeover"}, {Name: "client_no_context_takeover"},
	}}}
}

// compressible returns n bytes of chat-like text that deflate shrinks.
func compressible(n int) []byte {
	return bytes.Repeat([]byte(`{"type":"message","text":"hello, room"} `), n/40+1)[:n]
}

// random returns n bytes that deflate cannot shrink.
func random(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestCompressionNegotiated(t *testing.T) {
	modes := []ws.CompressionMode{ws.CompressionNoContextTakeover, ws.CompressionContextTakeover, ws.CompressionDisabled}
	want := map[[2]ws.CompressionMode]string{
		{ws.CompressionNoContextTakeover, ws.CompressionNoContextTakeover}: "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
		{ws.CompressionNoContextTakeover, ws.CompressionContextTakeover}:   "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
		{ws.CompressionContextTakeover, ws.CompressionNoContextTakeover}:   "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
		{ws.CompressionContextTakeover, ws.CompressionContextTakeover}:     "permessage-deflate",
	}
	for _, sm := range modes {
		for _, cm := range modes {
			t.Run(fmt.Sprintf("server %v, client %v", sm, cm), func(t *testing.T) {
				checkGoroutines(t)
				srv, _ := serve(t, &ws.AcceptOptions{Config: ws.Config{Compression: sm}}, echo)
				c, resp, err := ws.Dial(t.Context(), wsURL(srv), &ws.DialOptions{Config: ws.Config{Compression: cm}})
				require.NoError(t, err)
				defer c.CloseNow()
				ext := want[[2]ws.CompressionMode{sm, cm}]
				assert.Equal(t, ext, resp.Header.Get("Sec-WebSocket-Extensions"))
				assert.Equal(t, ext != "", c.Compressed())

				// Messages of every kind cross either way.
				for _, p := range [][]byte{nil, []byte("short"), compressible(5000), random(3000, 1)} {
					require.NoError(t, c.Write(t.Context(), ws.MessageBinary, p))
					typ, got, err := c.Read(t.Context())
					require.NoError(t, err)
					assert.Equal(t, ws.MessageBinary, typ)
					assert.True(t, bytes.Equal(p, got), "echo of %d bytes", len(p))
				}
				require.NoError(t, c.Close(ws.StatusNormalClosure, ""))
			})
		}
	}
}

// TestCompressedRoundTrip sends random and repetitive messages of many
// sizes in both modes and both directions, whole and streamed, with
// small buffers so that compressed messages are fragmented.
func TestCompressedRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 127, 128, 129, 1000, 4095, 4096, 4097, 65535, 65536, 200_000, 1 << 20}
	for _, mode := range []ws.CompressionMode{ws.CompressionNoContextTakeover, ws.CompressionContextTakeover} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v, streamed %v", mode, stream), func(t *testing.T) {
				checkGoroutines(t)
				cfg := ws.Config{Compression: mode, ReadBufferSize: 512, WriteBufferSize: 1024, CompressionThreshold: 128}
				handler := echo
				if stream {
					handler = streamingEcho
				}
				srv, _ := serve(t, &ws.AcceptOptions{Config: cfg}, handler)
				c := dial(t, srv, &ws.DialOptions{Config: cfg})
				require.True(t, c.Compressed())
				for i, n := range sizes {
					for _, p := range [][]byte{compressible(n), random(n, uint64(i)), textOfSize(n)} {
						typ := ws.MessageBinary
						if utf8Valid(p) {
							typ = ws.MessageText
						}
						if stream {
							w, err := c.Writer(t.Context(), typ)
							require.NoError(t, err)
							for chunk := range slices(p, 777) {
								_, err := w.Write(chunk)
								require.NoError(t, err)
							}
							require.NoError(t, w.Close())
							gotTyp, r, err := c.Reader(t.Context())
							require.NoError(t, err)
							got, err := io.ReadAll(r)
							require.NoError(t, err)
							require.Equal(t, typ, gotTyp)
							require.True(t, bytes.Equal(p, got), "%d bytes", n)
							continue
						}
						require.NoError(t, c.Write(t.Context(), typ, p))
						gotTyp, got, err := c.Read(t.Context())
						require.NoError(t, err)
						require.Equal(t, typ, gotTyp)
						require.True(t, bytes.Equal(p, got), "%d bytes", n)
					}
				}
				require.NoError(t, c.Close(ws.StatusNormalClosure, ""))
			})
		}
	}
}

func utf8Valid(p []byte) bool { return bytes.Equal(bytes.ToValidUTF8(p, nil), p) }

// slices yields p in chunks of n bytes.
func slices(p []byte, n int) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(p) > 0 {
			k := min(n, len(p))
			if !yield(p[:k]) {
				return
			}
			p = p[k:]
		}
	}
}

// TestCompressedWire checks what a compressing Conn puts on the wire.
func TestCompressedWire(t *testing.T) {
	t.Run("above the threshold RSV1 marks a deflated message", func(t *testing.T) {
		c, peer := pipe(t, &ws.ConnOptions{Extensions: noTakeoverExts()})
		frames := peer.frames(t)
		msg := compressible(1000)
		require.NoError(t, c.Write(t.Context(), ws.MessageText, msg))
		f := recv(t, frames)
		assert.Equal(t, byte(0x40), f.rsv)
		assert.Less(t, len(f.payload), 100)
		assert.Equal(t, msg, inflateRaw(t, f.payload))
	})
	t.Run("below the threshold it is sent as it is", func(t *testing.T) {
		c, peer := pipe(t, &ws.ConnOptions{Extensions: noTakeoverExts()})
		frames := peer.frames(t)
		require.NoError(t, c.Write(t.Context(), ws.MessageText, compressible(127)))
		f := recv(t, frames)
		assert.Zero(t, f.rsv)
		assert.Equal(t, compressible(127), f.payload)
	})
	t.Run("SetCompression turns it off and on per message", func(t *testing.T) {
		c, peer := pipe(t, &ws.ConnOptions{Extensions: noTakeoverExts()})
		frames := peer.frames(t)
		msg := compressible(1000)
		c.SetCompression(false)
		require.NoError(t, c.Write(t.Context(), ws.MessageBinary, msg))
		c.SetCompression(true)
		require.NoError(t, c.Write(t.Context(), ws.MessageBinary, msg))
		assert.Zero(t, recv(t, frames).rsv)
		assert.Equal(t, byte(0x40), recv(t, frames).rsv)
	})
	t.Run("a streamed message sets RSV1 on its first frame only", func(t *testing.T) {
		c, peer := pipe(t, &ws.ConnOptions{Config: ws.Config{WriteBufferSize: 64}, Extensions: noTakeoverExts()})
		frames := peer.frames(t)
		msg := random(300_000, 3) // compress/flate emits a block every 64 KiB
		w, err := c.Writer(t.Context(), ws.MessageBinary)
		require.NoError(t, err)
		_, err = w.Write(msg)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		var z []byte
		for i := 0; ; i++ {
			f := recv(t, frames)
			if i == 0 {
				assert.Equal(t, byte(0x40), f.rsv)
				assert.Equal(t, opBinary, f.op)
			} else {
				assert.Zero(t, f.rsv, "RFC 7692 §6.1: continuation frames carry no RSV1")
				assert.Equal(t, opContinuation, f.op)
			}
			z = append(z, f.payload...)
			if f.fin {
				require.Greater(t, i, 2)
				break
			}
		}
		assert.Equal(t, msg, inflateRaw(t, z))
	})
	t.Run("a short streamed message goes out uncompressed", func(t *testing.T) {
		c, peer := pipe(t, &ws.ConnOptions{Extensions: noTakeoverExts()})
		frames := peer.frames(t)
		w, err := c.Writer(t.Context(), ws.MessageText)
		require.NoError(t, err)
		io.WriteString(w, "hello, ")
		io.WriteString(w, "world")
		require.NoError(t, w.Close())
		f := recv(t, frames)
		assert.Zero(t, f.rsv)
		assert.Equal(t, "hello, world", string(f.payload))
	})
	t.Run("context takeover refers back to earlier messages", func(t *testing.T) {
		c, peer := pipe(t, &ws.ConnOptions{Config: ws.Config{Compression: ws.CompressionContextTakeover}, Extensions: deflateExts})
		frames := peer.frames(t)
		msg := random(1000, 4)
		require.NoError(t, c.Write(t.Context(), ws.MessageBinary, msg))
		require.NoError(t, c.Write(t.Context(), ws.MessageBinary, msg))
		first, second := recv(t, frames), recv(t, frames)
		assert.Greater(t, len(first.payload), 1000)
		assert.Less(t, len(second.payload), 50, "the second copy is a back-reference")
		// One decompressor reads both, as the peer's would.
		fr := flate.NewReader(io.MultiReader(bytes.NewReader(first.payload), bytes.NewReader([]byte{0, 0, 0xff, 0xff}),
			bytes.NewReader(second.payload), bytes.NewReader([]byte{0, 0, 0xff, 0xff})))
		got := make([]byte, 2000)
		_, err := io.ReadFull(fr, got)
		require.NoError(t, err)
		assert.Equal(t, append(bytes.Clone(msg), msg...), got)
	})
	t.Run("a window narrower than 15 bits gets Huffman coding alone", func(t *testing.T) {
		// RFC 7692 §7.1.2.1: the client limited the server's window to
		// 256 bytes, which compress/flate cannot do; without LZ77
		// matches no window is needed at all.
		exts := []handshake.Extension{{Name: "permessage-deflate", Params: []handshake.Param{{Name: "server_max_window_bits", Value: "8", HasValue: true}}}}
		c, peer := pipe(t, &ws.ConnOptions{Config: ws.Config{Compression: ws.CompressionContextTakeover}, Extensions: exts})
		frames := peer.frames(t)
		msg := bytes.Repeat([]byte("abcdefgh"), 2000)
		require.NoError(t, c.Write(t.Context(), ws.MessageBinary, msg))
		f := recv(t, frames)
		assert.Equal(t, byte(0x40), f.rsv)
		assert.Greater(t, len(f.payload), len(msg)/8, "a back-reference would shrink this to a few bytes")
		assert.Less(t, len(f.payload), len(msg)/2, "Huffman coding still shrinks it")
		assert.Equal(t, msg, inflateRaw(t, f.payload))
	})
	t.Run("the default mode keeps no context even when allowed", func(t *testing.T) {
		c, peer := pipe(t, &ws.ConnOptions{Extensions: deflateExts})
		frames := peer.frames(t)
		msg := random(1000, 5)
		require.NoError(t, c.Write(t.Context(), ws.MessageBinary, msg))
		require.NoError(t, c.Write(t.Context(), ws.MessageBinary, msg))
		first, second := recv(t, frames), recv(t, frames)
		assert.Equal(t, msg, inflateRaw(t, first.payload))
		assert.Equal(t, msg, inflateRaw(t, second.payload))
	})
}

// TestCompressedRead feeds a Conn compressed frames by hand.
func TestCompressedRead(t *testing.T) {
	msg := compressible(3000)
	z := deflateRaw(t, msg)
	t.Run("fragments with a ping between them", func(t *testing.T) {
		c, peer := pipe(t, &ws.ConnOptions{Extensions: noTakeoverExts()})
		frames := peer.frames(t)
		msgs := readLoop(t, c)
		half := len(z) / 2
		peer.send(t,
			clientFrame(wireFrame(0x40|0x01, z[:half])), // RSV1 on the first frame
			clientFrame(wireFrame(0x89, []byte("ping"))),
			clientFrame(wireFrame(0x80, z[half:])))
		m := recv(t, msgs)
		require.NoError(t, m.err)
		assert.Equal(t, ws.MessageText, m.typ)
		assert.Equal(t, msg, m.p)
		pong := recv(t, frames)
		assert.Equal(t, opPong, pong.op)
		assert.Equal(t, "ping", string(pong.payload))
	})
	t.Run("with context takeover", func(t *testing.T) {
		c, peer := pipe(t, &ws.ConnOptions{Config: ws.Config{Compression: ws.CompressionContextTakeover}, Extensions: deflateExts})
		msgs := readLoop(t, c)
		var b bytes.Buffer
		fw, _ := flate.NewWriter(&b, 5)
		for i := range 3 {
			b.Reset()
			fw.Write(msg)
			fw.Flush()
			zi := b.Bytes()[:b.Len()-4]
			if i > 0 {
				assert.Less(t, len(zi), 100)
			}
			peer.send(t, clientFrame(wireFrame(0xc1, zi)))
			m := recv(t, msgs)
			require.NoError(t, m.err)
			assert.Equal(t, msg, m.p)
		}
	})
	t.Run("streamed, in small reads", func(t *testing.T) {
		c, peer := pipe(t, &ws.ConnOptions{Extensions: noTakeoverExts()})
		go peer.Write(clientFrame(wireFrame(0xc2, z)))
		typ, r, err := c.Reader(t.Context())
		require.NoError(t, err)
		assert.Equal(t, ws.MessageBinary, typ)
		var got []byte
		buf := make([]byte, 7)
		for {
			n, err := r.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
		}
		assert.Equal(t, msg, got)
	})
	t.Run("an empty compressed message", func(t *testing.T) {
		c, peer := pipe(t, &ws.ConnOptions{Extensions: noTakeoverExts()})
		msgs := readLoop(t, c)
		// RFC 7692 §7.2.3.6: a single 0x00 byte, or nothing at all.
		peer.send(t, clientFrame(wireFrame(0xc1, []byte{0})), clientFrame(wireFrame(0xc1, nil)))
		for range 2 {
			m := recv(t, msgs)
			require.NoError(t, m.err)
			assert.Empty(t, m.p)
		}
	})
	t.Run("a cancelled Read resumes a compressed message", func(t *testing.T) {
		c, peer := pipe(t, &ws.ConnOptions{Extensions: noTakeoverExts()})
		wire := clientFrame(wireFrame(0xc1, z))
		sent := make(chan error, 1)
		go func() {
			_, err := peer.Write(wire[:len(wire)/2])
			sent <- err
		}()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, _, err := c.Read(ctx)
			done <- err
		}()
		// A pipe's Write returns once the reader has taken every byte.
		require.NoError(t, recv(t, sent))
		cancel()
		require.ErrorIs(t, recv(t, done), context.Canceled)
		go peer.Write(wire[len(wire)/2:])
		_, got, err := c.Read(t.Context())
		require.NoError(t, err)
		assert.Equal(t, msg, got)
	})
}

// TestCompressedViolations checks the close codes of RFC 7692 §6.1 and
// RFC 6455 §5.2 and §8.1 for compressed messages.
func TestCompressedViolations(t *testing.T) {
	z := deflateRaw(t, compressible(1000))
	tests := []struct {
		name   string
		exts   []handshake.Extension
		limit  int64
		frames [][]byte
		want   ws.StatusCode
	}{
		{"RSV1 without the extension", nil, 0,
			[][]byte{clientFrame(wireFrame(0xc1, z))}, ws.StatusProtocolError},
		{"RSV1 on a continuation", noTakeoverExts(), 0,
			[][]byte{clientFrame(wireFrame(0x41, z[:5])), clientFrame(wireFrame(0xc0, z[5:]))}, ws.StatusProtocolError},
		{"compressed ping", noTakeoverExts(), 0,
			[][]byte{clientFrame(wireFrame(0xc9, nil))}, ws.StatusProtocolError},
		{"compressed close", noTakeoverExts(), 0,
			[][]byte{clientFrame(wireFrame(0xc8, []byte{3, 0xe8}))}, ws.StatusProtocolError},
		{"RSV2", noTakeoverExts(), 0,
			[][]byte{clientFrame(wireFrame(0xa1, z))}, ws.StatusProtocolError},
		// 0xff starts a block of the reserved type 3 (RFC 1951 §3.2.3).
		{"corrupt deflate data", noTakeoverExts(), 0,
			[][]byte{clientFrame(wireFrame(0xc2, []byte{0xff, 0xff, 0xff, 0xff}))}, ws.StatusInvalidPayload},
		{"deflate data cut short inside a block", noTakeoverExts(), 0,
			[][]byte{clientFrame(wireFrame(0xc2, z[:len(z)/2]))}, ws.StatusInvalidPayload},
		{"compressed text that is not UTF-8", noTakeoverExts(), 0,
			[][]byte{clientFrame(wireFrame(0xc1, deflateRaw(t, []byte("ok \xff not"))))}, ws.StatusInvalidPayload},
		{"inflates past the read limit", noTakeoverExts(), 999,
			[][]byte{clientFrame(wireFrame(0xc1, z))}, ws.StatusMessageTooBig},
		{"uncompressed past the read limit", noTakeoverExts(), 999,
			[][]byte{clientFrame(wireFrame(0x81, compressible(1000)))}, ws.StatusMessageTooBig},
	}
	for _, tc := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, streamed %v", tc.name, stream), func(t *testing.T) {
				checkGoroutines(t)
				c, peer := pipe(t, &ws.ConnOptions{Config: ws.Config{ReadLimit: tc.limit}, Extensions: tc.exts})
				go func() {
					for _, f := range tc.frames {
						if _, err := peer.Write(f); err != nil {
							return
						}
					}
				}()
				errs := make(chan error, 1)
				go func() {
					if !stream {
						_, _, err := c.Read(t.Context())
						errs <- err
						return
					}
					_, r, err := c.Reader(t.Context())
					if err == nil {
						_, err = io.Copy(io.Discard, r)
					}
					errs <- err
				}()
				// The Conn writes its close frame before Read returns.
				peer.requireClose(t, tc.want)
				require.Error(t, recv(t, errs))
			})
		}
	}
}

// TestInflateBomb checks that a message that inflates far past the read
// limit fails after at most the limit plus one buffer of output.
func TestInflateBomb(t *testing.T) {
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestCompression)
	fw.Write(make([]byte, 64<<20))
	fw.Flush()
	bomb := b.Bytes()[:b.Len()-4]
	require.Less(t, len(bomb), 100<<10, "64 MiB of zeros deflates to little")
	const limit = 1 << 20
	c, peer := pipe(t, &ws.ConnOptions{Config: ws.Config{ReadLimit: limit}, Extensions: noTakeoverExts()})
	go peer.Write(clientFrame(wireFrame(0xc2, bomb)))
	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		_, r, err := c.Reader(t.Context())
		require.NoError(t, err)
		n, err := io.CopyBuffer(io.Discard, r, make([]byte, 32<<10))
		done <- result{n, err}
	}()
	peer.requireClose(t, ws.StatusMessageTooBig)
	res := recv(t, done)
	require.ErrorIs(t, res.err, frame.ErrMessageTooBig)
	assert.LessOrEqual(t, res.n, int64(limit))

	// Read buffers nothing past the limit either.
	var ms1, ms2 runtimeMem
	ms1.read()
	c2, peer2 := pipe(t, &ws.ConnOptions{Config: ws.Config{ReadLimit: limit}, Extensions: noTakeoverExts()})
	go peer2.Write(clientFrame(wireFrame(0xc2, bomb)))
	errs := make(chan error, 1)
	go func() {
		_, _, err := c2.Read(t.Context())
		errs <- err
	}()
	peer2.requireClose(t, ws.StatusMessageTooBig)
	require.ErrorIs(t, recv(t, errs), frame.ErrMessageTooBig)
	ms2.read()
	assert.Less(t, ms2.total-ms1.total, uint64(8*limit), "bytes allocated while reading the bomb")
}

func TestDialRefusesUnofferedDeflateParams(t *testing.T) {
	for _, ext := range []string{
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
		"permessage-deflate; mystery",
		"permessage-deflate, permessage-deflate",
	} {
		t.Run(ext, func(t *testing.T) {
			checkGoroutines(t)
			srv, _ := serveHTTP(t, false, func(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Upgrade", "websocket")
				w.Header().Set("Connection", "Upgrade")
				w.Header().Set("Sec-WebSocket-Accept", handshake.AcceptKey(r.Header.Get("Sec-WebSocket-Key")))
				w.Header().Set("Sec-WebSocket-Extensions", ext)
				w.WriteHeader(http.StatusSwitchingProtocols)
				return nil
			})
			_, _, err := ws.Dial(t.Context(), wsURL(srv), nil)
			var he *handshake.Error
			require.ErrorAs(t, err, &he)
		})
	}
}

func TestPreparedCompressed(t *testing.T) {
	checkGoroutines(t)
	msg := compressible(10_000)
	pm, err := ws.NewPreparedMessage(ws.MessageText, msg)
	require.NoError(t, err)
	for _, mode := range []ws.CompressionMode{ws.CompressionNoContextTakeover, ws.CompressionContextTakeover, ws.CompressionDisabled} {
		t.Run(mode.String(), func(t *testing.T) {
			srv, errs := serve(t, &ws.AcceptOptions{Config: ws.Config{Compression: ws.CompressionContextTakeover}}, func(ctx context.Context, c *ws.Conn) error {
				for range 3 {
					if err := c.WritePrepared(ctx, pm); err != nil {
						return err
					}
				}
				typ, p, err := c.Read(ctx)
				if err != nil {
					return err
				}
				if typ != ws.MessageText || !bytes.Equal(p, msg) {
					return fmt.Errorf("got %v message of %d bytes", typ, len(p))
				}
				_, _, err = c.Read(ctx) // the closing handshake
				return err
			})
			c := dial(t, srv, &ws.DialOptions{Config: ws.Config{Compression: mode}})
			for range 3 {
				typ, got, err := c.Read(t.Context())
				require.NoError(t, err)
				assert.Equal(t, ws.MessageText, typ)
				assert.Equal(t, msg, got)
			}
			// The client's prepared writes are compressed too.
			require.NoError(t, c.WritePrepared(t.Context(), pm))
			require.NoError(t, c.Close(ws.StatusNormalClosure, ""))
			assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(recv(t, errs)))
		})
	}
}

// runtimeMem samples the bytes allocated so far.
type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.total = ms.TotalAlloc
}
