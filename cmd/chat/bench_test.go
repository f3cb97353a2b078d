package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/internal/testpeer"
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

// BenchmarkBroker measures what sharing the room through Redis adds, and
// the in-memory broker beside it, with three subscribers standing for
// three nodes (three processes' brokers, for Redis):
//
//   - throughput: messages a second each node receives, published by
//     eight goroutines at once (msgs/s/node);
//   - latency: one message at a time, from Publish to its arrival at each
//     node (p50-µs, p99-µs): the hop a message makes between nodes.
//
// go test -run='^$' -bench=Broker -benchtime=20000x ./cmd/chat/
func BenchmarkBroker(b *testing.B) {
	for _, kind := range []struct {
		name string
		open func(b *testing.B) []Broker
	}{
		{"memory", func(*testing.B) []Broker {
			m := newMemBroker(minKeep)
			return []Broker{m, m, m}
		}},
		{"redis", func(b *testing.B) []Broker {
			srv := testpeer.StartRedis(b, nil)
			return []Broker{
				newTestRedisBroker(b, srv.URL(), minKeep, nil),
				newTestRedisBroker(b, srv.URL(), minKeep, nil),
				newTestRedisBroker(b, srv.URL(), minKeep, nil),
			}
		}},
	} {
		b.Run(kind.name+"/throughput", func(b *testing.B) { benchmarkThroughput(b, kind.open(b)) })
		b.Run(kind.name+"/latency", func(b *testing.B) { benchmarkLatency(b, kind.open(b)) })
	}
}

// benchData is a chat message of a typical size.
var benchData = encode(event{Type: typeMessage, Time: "2025-01-02T03:04:05.000Z", ID: "0123abcd", Name: "bench", Text: strings.Repeat("x", 80)})

// subscribeAll subscribes to each broker and starts a goroutine per
// subscription that sends the arrival time of each message on arrivals,
// until the benchmark ends.
func subscribeAll(b *testing.B, brokers []Broker) (arrivals chan time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	arrivals = make(chan time.Time, 1024)
	var wg sync.WaitGroup
	for _, br := range brokers {
		sub, _, err := br.Subscribe(ctx)
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			for {
				if _, err := sub.Next(ctx); err != nil {
					if ctx.Err() == nil {
						b.Error(err)
					}
					return
				}
				select {
				case arrivals <- time.Now():
				case <-ctx.Done():
					return
				}
			}
		})
	}
	b.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return arrivals
}

func benchmarkThroughput(b *testing.B, brokers []Broker) {
	arrivals := subscribeAll(b, brokers)
	// At most window messages are in flight, so that no subscriber
	// falls behind the in-memory broker's 1000 even if all the arrivals
	// that free a place come from the others.
	const window = 300
	inFlight := make(chan struct{}, window)
	done := make(chan struct{})
	var lost atomic.Bool
	go func() {
		defer close(done)
		for i := range len(brokers) * b.N {
			if _, ok := nextArrival(arrivals); !ok {
				lost.Store(true)
				return
			}
			if i%len(brokers) == len(brokers)-1 {
				<-inFlight
			}
		}
	}()
	b.SetBytes(int64(len(benchData)))
	b.ReportAllocs()
	b.SetParallelism(4) // eight publishers on two cores
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			select {
			case inFlight <- struct{}{}:
			case <-done:
				return // a message was lost: the benchmark fails below
			}
			if _, err := brokers[i%len(brokers)].Publish(context.Background(), benchData); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	<-done
	if lost.Load() {
		b.Fatalf("a published message reached no node within %v", arrivalTimeout)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s/node")
}

func benchmarkLatency(b *testing.B, brokers []Broker) {
	arrivals := subscribeAll(b, brokers)
	var lat []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		if _, err := brokers[0].Publish(context.Background(), benchData); err != nil {
			b.Fatal(err)
		}
		for range brokers {
			t, ok := nextArrival(arrivals)
			if !ok {
				b.Fatalf("a published message reached no node within %v", arrivalTimeout)
			}
			lat = append(lat, t.Sub(t0))
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// arrivalTimeout bounds the wait for a published message to reach a node,
// so that a lost one fails the benchmark instead of hanging it.
const arrivalTimeout = 30 * time.Second

// nextArrival returns the next arrival time, or false after
// arrivalTimeout.
func nextArrival(arrivals <-chan time.Time) (time.Time, bool) {
	t := time.NewTimer(arrivalTimeout)
	defer t.Stop()
	select {
	case at := <-arrivals:
		return at, true
	case <-t.C:
		return time.Time{}, false
	}
}
