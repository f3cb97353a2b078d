package main

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/ab7c482b/websocket/ws"
)

// BenchmarkFanOut measures one message from Publish to every member's
// queue: numbering, encoding once, and the offers. Members are queues
// drained by goroutines, without connections, so the network is not
// measured.
func BenchmarkFanOut(b *testing.B) {
	for _, members := range []int{10, 100, 1000} {
		for _, size := range []int{0, 125, 4 << 10} {
			b.Run(fmt.Sprintf("members=%d/size=%d", members, size), func(b *testing.B) {
				benchmarkFanOut(b, members, size)
			})
		}
	}
}

func benchmarkFanOut(b *testing.B, members, size int) {
	broker := newMemBroker(minKeep)
	r, err := newRoom(broker, roomConfig{History: 100, Queue: 16, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	acks := make(chan struct{}, members)
	var drainers sync.WaitGroup
	clients := make([]*client, members)
	for i := range clients {
		cl := &client{queue: make(chan *ws.PreparedMessage, 16), stopped: make(chan struct{})}
		clients[i] = cl
		drainers.Go(func() {
			for {
				select {
				case <-cl.queue:
					acks <- struct{}{}
				case <-cl.stopped:
					return
				}
			}
		})
	}
	r.mu.Lock()
	for _, cl := range clients {
		r.members[cl] = struct{}{}
	}
	r.mu.Unlock()

	data := encode(event{Type: typeMessage, Time: timestamp(r.cfg.now()), ID: "0123abcd", Name: "bench", Text: strings.Repeat("x", size)})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := broker.Publish(b.Context(), data); err != nil {
			b.Fatal(err)
		}
		for range members {
			<-acks
		}
	}
	b.StopTimer()
	for _, cl := range clients {
		cl.stop(ws.StatusGoingAway, "", false)
	}
	drainers.Wait()
	r.stopFanOut()
	<-r.fanOutDone
}
