package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/ab7c482b/websocket/ws"
)

// BenchmarkFanOut measures one message from Publish to every member's
// transport: numbering, encoding once, the offers to each member's
// ws.Queue and its write. Each member's transport takes every frame in one
// Write and discards it, so the network is not measured.
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
	clients := make([]*client, members)
	for i := range clients {
		cl := &client{conn: ws.NewConn(newAckConn(acks), nil), stopped: make(chan struct{})}
		cl.queue = ws.NewQueue(cl.conn, &ws.QueueOptions{MaxMessages: 16, Policy: ws.QueueClose})
		clients[i] = cl
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
		cl.conn.CloseNow()
		<-cl.queue.Done()
	}
	r.stopFanOut()
	<-r.fanOutDone
}

// ackConn is a transport that discards what is written to it, telling
// acks of each write, and has nothing to read until it is closed.
type ackConn struct {
	acks   chan<- struct{}
	closed chan struct{}
	once   sync.Once
}

func newAckConn(acks chan<- struct{}) *ackConn {
	return &ackConn{acks: acks, closed: make(chan struct{})}
}

func (c *ackConn) Write(p []byte) (int, error) {
	c.acks <- struct{}{}
	return len(p), nil
}

func (c *ackConn) Read([]byte) (int, error) {
	<-c.closed
	return 0, io.EOF
}

func (c *ackConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}
