package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// handshakeWorkers is how many handshakes the client keeps in progress.
const handshakeWorkers = 16

// A handshakeSample counts opening handshakes completed against one
// server: connect, request, 101 response checked, connection reset.
type handshakeSample struct {
	Impl       string  `json:"impl"`
	Round      int     `json:"round"`
	Handshakes int64   `json:"handshakes"`
	Seconds    float64 `json:"seconds"`
	ServerCPU  float64 `json:"server_cpu_s"`
	Error      string  `json:"error,omitempty"`
}

func (s handshakeSample) rate() float64 { return float64(s.Handshakes) / s.Seconds }

func (s handshakeSample) serverUS() float64 {
	return s.ServerCPU * 1e6 / float64(s.Handshakes)
}

// runHandshakes opens connections to p as fast as handshakeWorkers
// goroutines can for warm+dur, and counts those of the last dur.
func runHandshakes(ctx context.Context, p *proc, warm, dur time.Duration) (handshakeSample, error) {
	out := handshakeSample{Impl: p.name}
	req := request(p.target, "/")
	var (
		count   atomic.Int64
		ended   atomic.Bool
		wg      sync.WaitGroup
		errOnce sync.Once
		failed  error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range handshakeWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Bounded by time, and by count as a backstop.
			for i := 0; i < 10_000_000 && !ended.Load(); i++ {
				conn, _, err := dial(ctx, p.target, req, 1024)
				if err != nil {
					if !ended.Load() {
						errOnce.Do(func() { failed = fmt.Errorf("%s: handshake: %w", p.name, err) })
					}
					return
				}
				conn.Close()
				count.Add(1)
			}
		}()
	}
	stop := func() {
		ended.Store(true)
		cancel()
		wg.Wait()
	}
	if !sleepCtx(ctx, warm) {
		stop()
		return out, ctx.Err()
	}
	n0, t0 := count.Load(), time.Now()
	cpu0, err := p.cpu()
	if err != nil {
		stop()
		return out, err
	}
	sleepCtx(ctx, dur)
	n1, t1 := count.Load(), time.Now()
	cpu1, err := p.cpu()
	stop()
	if err != nil {
		return out, err
	}
	if failed != nil {
		return out, failed
	}
	out.Handshakes = n1 - n0
	out.Seconds = t1.Sub(t0).Seconds()
	out.ServerCPU = (cpu1 - cpu0).Seconds()
	if out.Handshakes == 0 {
		return out, fmt.Errorf("%s: no handshake completed in %v", p.name, dur)
	}
	return out, nil
}
