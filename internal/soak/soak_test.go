package soak

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/internal/autobahn"
	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	// messages is what each connection sends and reads back.
	messages = 3
	// heapBound is how far above its size before the run the heap may
	// stay once every connection has closed.
	heapBound = 8 << 20
	// settle bounds the wait for goroutines to end after the run.
	settle = 10 * time.Second
)

// echo serves one connection: every message back to its sender.
func echo(w http.ResponseWriter, r *http.Request) {
	c, err := ws.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	autobahn.Echo(context.Background(), c)
}

// visit opens a connection, exchanges messages and closes it: with the
// closing handshake, or for one connection in ten by dropping the TCP
// connection, as a client that goes away without a word does.
func visit(ctx context.Context, url string, id int) error {
	c, _, err := ws.Dial(ctx, url, nil)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	for i := range messages {
		want := fmt.Sprintf("connection %d message %d %s", id, i, strings.Repeat("x", 100*i))
		if err := c.Write(ctx, ws.MessageText, []byte(want)); err != nil {
			return err
		}
		_, p, err := c.Read(ctx)
		if err != nil {
			return err
		}
		if string(p) != want {
			return fmt.Errorf("echo of %q is %q", want, p)
		}
	}
	if id%10 == 9 {
		return c.CloseNow()
	}
	return c.Close(ws.StatusNormalClosure, "")
}

func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestSoak runs total connections, concurrent at a time, and checks that
// goroutines and heap return to their levels before the run.
func TestSoak(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(echo))
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	// Warm up: the first connection starts goroutines that stay, such
	// as the server's and the resolver's.
	require.NoError(t, visit(t.Context(), url, -1))
	goroutines, heap := runtime.NumGoroutine(), heapInuse()

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	slots := make(chan struct{}, concurrent)
	errs := make(chan error, total)
	var wg sync.WaitGroup
	var peakGoroutines int
	var midHeap uint64
	for id := range total {
		slots <- struct{}{}
		peakGoroutines = max(peakGoroutines, runtime.NumGoroutine())
		if id == total/2 {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			midHeap = ms.HeapInuse
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := visit(ctx, url, id); err != nil {
				errs <- fmt.Errorf("connection %d: %w", id, err)
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	failed := 0
	for err := range errs {
		if failed++; failed <= 5 {
			t.Error(err)
		}
	}
	assert.Zero(t, failed, "connections that failed")

	// Every goroutine the run started must end.
	deadline := time.Now().Add(settle)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	n := runtime.NumGoroutine()
	for n > goroutines && time.Now().Before(deadline) {
		<-tick.C
		n = runtime.NumGoroutine()
	}
	if !assert.LessOrEqual(t, n, goroutines, "goroutines %v after the run", settle) {
		var b bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&b, 1)
		t.Logf("goroutines left:\n%s", b.String())
	}
	after := heapInuse()
	t.Logf("soak: %d connections (%d at a time, %d messages each) in %v, %.0f/s; goroutines %d before, %d at the peak, %d after; heap in use %.1f MiB before, %.1f MiB halfway, %.1f MiB after",
		total, concurrent, messages, took.Round(time.Millisecond), total/took.Seconds(), goroutines, peakGoroutines, n, mib(heap), mib(midHeap), mib(after))
	assert.Less(t, int64(after)-int64(heap), int64(heapBound), "heap in use grew by %.1f MiB", mib(after)-mib(heap))
	srv.Close()
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
