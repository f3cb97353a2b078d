package ws_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/handshake"
	"github.com/ab7c482b/websocket/ws"
)

// benchModes are the compression modes the benchmarks compare, with the
// extensions a handshake agrees for each.
var benchModes = []struct {
	name string
	mode ws.CompressionMode
	exts []handshake.Extension
}{
	{"off", ws.CompressionDisabled, nil},
	{"no-context-takeover", ws.CompressionNoContextTakeover, []handshake.Extension{{Name: "permessage-deflate", Params: []handshake.Param{
		{Name: "server_no_context_takeover"}, {Name: "client_no_context_takeover"},
	}}}},
	{"context-takeover", ws.CompressionContextTakeover, []handshake.Extension{{Name: "permessage-deflate"}}},
}

// jsonOfSize returns n bytes of JSON-like chat traffic, which deflate
// shrinks several times, as it does real JSON.
func jsonOfSize(n int) []byte {
	var sb strings.Builder
	for i := 0; sb.Len() < n; i++ {
		fmt.Fprintf(&sb, `{"seq":%d,"from":"user%d","text":"message number %d to the room"},`, i, i%17, i*7)
	}
	return []byte(sb.String()[:n])
}

// sink is a transport that drops what is written and, if replay is set,
// reads it back endlessly: a Conn's whole cost without a peer's.
type sink struct {
	replay []byte
	off    int
}

func (s *sink) Write(p []byte) (int, error) { return len(p), nil }
func (s *sink) Close() error                { return nil }

func (s *sink) Read(p []byte) (int, error) {
	if len(s.replay) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.replay[s.off:])
	s.off = (s.off + n) % len(s.replay)
	return n, nil
}

// BenchmarkCompressWrite measures Write of JSON-like messages in each
// mode: throughput of the uncompressed bytes, and allocations.
func BenchmarkCompressWrite(b *testing.B) {
	for _, m := range benchModes {
		for _, n := range []int{1 << 10, 16 << 10, 1 << 20} {
			b.Run(fmt.Sprintf("%s/%s", m.name, sizeName(n)), func(b *testing.B) {
				c := ws.NewConn(&sink{}, &ws.ConnOptions{Config: ws.Config{Compression: m.mode}, Extensions: m.exts})
				p := jsonOfSize(n)
				ctx := context.Background()
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					if err := c.Write(ctx, ws.MessageText, p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDecompressRead measures reading JSON-like messages that a
// client sent compressed (or not, in mode off), whole with Read and
// streamed with Reader: throughput of the decompressed bytes, and
// allocations.
func BenchmarkDecompressRead(b *testing.B) {
	for _, m := range benchModes {
		for _, n := range []int{1 << 10, 16 << 10, 1 << 20} {
			p := jsonOfSize(n)
			payload, rsv := p, byte(0)
			if m.exts != nil {
				// Each message stands alone, so the same bytes can be
				// read again even by a decompressor that keeps context.
				payload, rsv = deflateRaw(b, p), 0x40
			}
			wire := []byte(clientFrameBytes(0x81|rsv, payload))
			for _, streamed := range []bool{false, true} {
				name := "Read"
				if streamed {
					name = "Reader"
				}
				b.Run(fmt.Sprintf("%s/%s/%s", m.name, name, sizeName(n)), func(b *testing.B) {
					c := ws.NewConn(&sink{replay: wire}, &ws.ConnOptions{Config: ws.Config{Compression: m.mode}, Extensions: m.exts})
					ctx := context.Background()
					buf := make([]byte, 32<<10)
					b.SetBytes(int64(n))
					b.ReportAllocs()
					for b.Loop() {
						if !streamed {
							if _, got, err := c.Read(ctx); err != nil || len(got) != n {
								b.Fatal(len(got), err)
							}
							continue
						}
						_, r, err := c.Reader(ctx)
						if err != nil {
							b.Fatal(err)
						}
						if k, err := io.CopyBuffer(io.Discard, r, buf); err != nil || k != int64(n) {
							b.Fatal(k, err)
						}
					}
				})
			}
		}
	}
}

// clientFrameBytes encodes a masked frame of any size.
func clientFrameBytes(b0 byte, p []byte) string {
	return string(clientFrame(wireFrame(b0, p)))
}

// BenchmarkIdleMemory measures what each idle server connection holds
// after one compressed message each way: heap and goroutine stacks per
// connection, accepted through net/http, with raw clients. The clients'
// own sockets are counted too, alike in every mode, so the difference
// from mode off is what compression costs an idle connection.
func BenchmarkIdleMemory(b *testing.B) {
	const conns = 200
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			var total float64
			for range b.N {
				total += idleBytesPerConn(b, m.mode, conns)
			}
			b.ReportMetric(total/float64(b.N), "B/conn")
		})
	}
}

func idleBytesPerConn(b *testing.B, mode ws.CompressionMode, conns int) float64 {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Accept(w, r, &ws.AcceptOptions{Config: ws.Config{Compression: mode}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		echo(context.Background(), c)
	}))
	defer srv.Close()
	msg := jsonOfSize(4 << 10)
	offer := "Sec-WebSocket-Extensions: permessage-deflate\r\n"
	frame := clientFrameBytes(0xc1, deflateRaw(b, msg))
	if mode == ws.CompressionDisabled {
		offer, frame = "", clientFrameBytes(0x81, msg)
	}

	before := heapAndStacks()
	clients := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	addr := srv.Listener.Addr().String()
	for range conns {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, conn)
		conn.SetDeadline(time.Now().Add(safetyTimeout))
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"+offer+"\r\n")
		br := bufio.NewReaderSize(conn, 16)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			b.Fatal(resp, err)
		}
		io.WriteString(conn, frame)
		if _, err := readRawFrame(br); err != nil {
			b.Fatal(err)
		}
		conn.SetDeadline(time.Time{})
	}
	after := heapAndStacks()
	return float64(after-before) / float64(conns)
}

// heapAndStacks returns the bytes of heap and goroutine stack in use,
// after a collection.
func heapAndStacks() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}
