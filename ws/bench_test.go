package ws_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/ab7c482b/websocket/internal/autobahn"
	"github.com/ab7c482b/websocket/ws"
)

// Message sizes of the benchmarks: one frame with a 7-bit, a 16-bit and a
// 64-bit length, and a message far larger than the buffers.
var benchSizes = []int{16, 1 << 10, 16 << 10, 1 << 20}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// streamingEcho echoes each message with Reader and Writer.
var streamingEcho = autobahn.Echo

// background runs h with a context that is never done, as the hot path
// wants: a cancellable context costs each blocking call an allocation
// (context.AfterFunc). The handler still ends when the client's Conn is
// closed at cleanup.
func background(h func(context.Context, *ws.Conn) error) func(context.Context, *ws.Conn) error {
	return func(_ context.Context, c *ws.Conn) error { return h(context.Background(), c) }
}

// BenchmarkEcho measures a round trip over loopback TCP: the client sends
// a message and reads the server's echo. Write-Read uses whole messages on
// both ends (Read allocates the payload); Writer-Reader streams them.
//
// Compression is turned off, to measure the framing alone, except in the
// -deflate runs, which send JSON-like text compressed each way.
func BenchmarkEcho(b *testing.B) {
	for _, streaming := range []bool{false, true} {
		for _, deflate := range []bool{false, true} {
			mode, handle := "Write-Read", echo
			if streaming {
				mode, handle = "Writer-Reader", streamingEcho
			}
			opts, payload := &ws.DialOptions{Config: ws.Config{Compression: ws.CompressionDisabled}}, binaryOfSize
			if deflate {
				mode, opts, payload = mode+"-deflate", nil, jsonOfSize
			}
			benchEcho(b, mode, handle, opts, payload, streaming)
		}
	}
}

func benchEcho(b *testing.B, mode string, handle func(context.Context, *ws.Conn) error, opts *ws.DialOptions, payload func(int) []byte, streaming bool) {
	{
		for _, n := range benchSizes {
			b.Run(mode+"/"+sizeName(n), func(b *testing.B) {
				srv, _ := serve(b, nil, background(handle))
				c := dial(b, srv, opts)
				ctx := context.Background()
				msg := payload(n)
				buf := make([]byte, n)
				b.ReportAllocs()
				b.SetBytes(int64(n))
				for b.Loop() {
					if streaming {
						w, err := c.Writer(ctx, ws.MessageBinary)
						if err != nil {
							b.Fatal(err)
						}
						if _, err := w.Write(msg); err != nil {
							b.Fatal(err)
						}
						if err := w.Close(); err != nil {
							b.Fatal(err)
						}
						_, r, err := c.Reader(ctx)
						if err != nil {
							b.Fatal(err)
						}
						if _, err := io.ReadFull(r, buf); err != nil {
							b.Fatal(err)
						}
						continue
					}
					if err := c.Write(ctx, ws.MessageBinary, msg); err != nil {
						b.Fatal(err)
					}
					if _, _, err := c.Read(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if err := c.Close(ws.StatusNormalClosure, ""); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkWrite measures client Write throughput over loopback TCP to a
// server that reads and drops every message.
func BenchmarkWrite(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(sizeName(n), func(b *testing.B) {
			srv, _ := serve(b, nil, background(func(ctx context.Context, c *ws.Conn) error {
				buf := make([]byte, 32<<10)
				for {
					_, r, err := c.Reader(ctx)
					if err != nil {
						return err
					}
					for err == nil {
						_, err = r.Read(buf)
					}
					if err != io.EOF {
						return err
					}
				}
			}))
			c := dial(b, srv, nil)
			ctx := context.Background()
			msg := binaryOfSize(n)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				if err := c.Write(ctx, ws.MessageBinary, msg); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if err := c.Close(ws.StatusNormalClosure, ""); err != nil {
				b.Fatal(err)
			}
		})
	}
}
