//go:build linux

package ws_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
)

// On Linux a Conn gives its read buffer back while idle (idle_linux.go).

// TestIdleConnHeap opens idle connections over TCP, each with a goroutine
// waiting in Reader, and checks what they hold on the heap: about 4.7 KiB
// a connection (the Conn and both sockets), which a read buffer held while
// waiting (DefaultBufferSize, 16 KiB) would take past 20 KiB.
func TestIdleConnHeap(t *testing.T) {
	checkGoroutines(t)
	const conns = 300
	before := heapInuse()
	done := make(chan struct{}, conns)
	var cs []*ws.Conn
	for range conns {
		c, _ := tcpPeer(t, nil)
		cs = append(cs, c)
		go func() {
			defer func() { done <- struct{}{} }()
			c.Reader(context.Background())
		}()
	}
	defer func() {
		for _, c := range cs {
			c.CloseNow()
		}
		for range conns {
			<-done
		}
	}()
	// Wait until every reader has given its buffer back: the heap then
	// stops shrinking.
	var per float64
	for range 100 {
		per = float64(heapInuse()-before) / conns
		if per < 6<<10 {
			break
		}
		runtime.Gosched()
	}
	t.Logf("heap per idle connection, both ends: %.0f B", per)
	assert.Less(t, per, float64(6<<10), "idle connections hold their read buffers (4 KiB each)")
}

// heapInuse returns the bytes of heap in use after a collection.
func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
