package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// broadcastSize is the payload of each broadcast message: a chat line.
const broadcastSize = 128

// A broadcastSample is one server broadcasting to Subs connections: the
// median time until every subscriber has one message, then a burst of
// Count messages back to back.
type broadcastSample struct {
	Impl      string  `json:"impl"`
	Round     int     `json:"round"`
	Subs      int     `json:"subs"`
	LatencyMS float64 `json:"latency_ms"` // median over single messages
	Count     int     `json:"count"`      // messages in the burst
	Seconds   float64 `json:"seconds"`    // until every subscriber had the burst
	ServerCPU float64 `json:"server_cpu_s"`
	Error     string  `json:"error,omitempty"`
}

// rate is deliveries (messages × subscribers) per second in the burst.
func (s broadcastSample) rate() float64 {
	return float64(s.Count) * float64(s.Subs) / s.Seconds
}

// serverUS is the server's CPU time per delivery in µs.
func (s broadcastSample) serverUS() float64 {
	return s.ServerCPU * 1e6 / (float64(s.Count) * float64(s.Subs))
}

// subscribers reads broadcasts on many connections and signals when every
// one has received the number of messages it is told to wait for.
type subscribers struct {
	name    string
	conns   []dialed
	want    atomic.Int64 // messages each connection waits for, in all
	pending atomic.Int64 // connections that have not reached want
	lastAt  atomic.Int64 // UnixNano when the last one did
	done    chan struct{}
	ended   atomic.Bool
	wg      sync.WaitGroup
	errOnce sync.Once
	err     error         // set once, before failed is closed
	failed  chan struct{} // closed on the first error
}

func (s *subscribers) start() {
	s.done = make(chan struct{}, 1)
	s.failed = make(chan struct{})
	want := payload(broadcastSize)
	for _, d := range s.conns {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			var keep []byte
			for n := int64(1); ; n++ {
				var k *[]byte
				if n == 1 {
					k = &keep // check the bytes of the first message
				}
				size, err := readMessage(d.br, k, nil)
				if err == nil && size != broadcastSize {
					err = fmt.Errorf("message of %d bytes, want %d", size, broadcastSize)
				}
				if err == nil && n == 1 && string(keep) != string(want) {
					err = fmt.Errorf("message differs from the one broadcast")
				}
				if err != nil {
					if !s.ended.Load() {
						s.errOnce.Do(func() {
							s.err = fmt.Errorf("%s: subscriber: %w", s.name, err)
							close(s.failed)
						})
					}
					return
				}
				if n == s.want.Load() && s.pending.Add(-1) == 0 {
					s.lastAt.Store(time.Now().UnixNano())
					s.done <- struct{}{}
				}
			}
		}()
	}
}

// expect arms the wait for k more messages on every connection.
func (s *subscribers) expect(k int) {
	s.pending.Store(int64(len(s.conns)))
	s.want.Add(int64(k))
}

// wait returns when every connection has what expect asked for.
func (s *subscribers) wait(timeout time.Duration) (time.Time, error) {
	select {
	case <-s.done:
		return time.Unix(0, s.lastAt.Load()), nil
	case <-s.failed:
		return time.Time{}, s.err
	case <-time.After(timeout):
		return time.Time{}, fmt.Errorf("%s: %d of %d subscribers still waiting after %v", s.name, s.pending.Load(), len(s.conns), timeout)
	}
}

func (s *subscribers) close() {
	s.ended.Store(true)
	for _, d := range s.conns {
		d.conn.Close()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
}

// runBroadcast subscribes n connections to p, times singles single
// broadcasts, then a burst of count.
func runBroadcast(ctx context.Context, p *proc, n, singles, count int) (broadcastSample, error) {
	out := broadcastSample{Impl: p.name, Subs: n, Count: count}
	conns, err := dialMany(ctx, p.target, subPath, n, 4096)
	if err != nil {
		return out, err
	}
	subs := &subscribers{name: p.name, conns: conns}
	subs.start()
	defer subs.close()
	// The server registers a subscriber a moment after its handshake.
	for deadline := time.Now().Add(20 * time.Second); ; {
		r, err := p.command("subs", 10*time.Second)
		if err != nil {
			return out, err
		}
		if r == fmt.Sprintf("subs %d", n) {
			break
		}
		if time.Now().After(deadline) {
			return out, fmt.Errorf("%s: %s of %d after 20s", p.name, r, n)
		}
		if !sleepCtx(ctx, 20*time.Millisecond) {
			return out, ctx.Err()
		}
	}
	bcast := func(k int) (time.Duration, error) {
		subs.expect(k)
		t0 := time.Now()
		r, err := p.command(fmt.Sprintf("bcast %d %d", broadcastSize, k), time.Minute)
		if err != nil {
			return 0, err
		}
		if got, _ := strconv.Atoi(strings.TrimPrefix(r, "bcast ")); got != n {
			return 0, fmt.Errorf("%s: broadcast reached %q, want %d", p.name, r, n)
		}
		t1, err := subs.wait(time.Minute)
		if err != nil {
			return 0, err
		}
		return t1.Sub(t0), nil
	}
	var lat []float64
	for range singles {
		d, err := bcast(1)
		if err != nil {
			return out, err
		}
		lat = append(lat, d.Seconds()*1e3)
	}
	out.LatencyMS = median(lat)
	cpu0, err := p.cpu()
	if err != nil {
		return out, err
	}
	d, err := bcast(count)
	if err != nil {
		return out, err
	}
	cpu1, err := p.cpu()
	if err != nil {
		return out, err
	}
	out.Seconds = d.Seconds()
	out.ServerCPU = (cpu1 - cpu0).Seconds()
	return out, nil
}
