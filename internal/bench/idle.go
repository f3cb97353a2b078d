package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// An idleSample is the resident memory of a server holding Conns idle
// connections, each past its handshake.
type idleSample struct {
	Impl    string `json:"impl"`
	Round   int    `json:"round"`
	Conns   int    `json:"conns"`
	BaseRSS int64  `json:"base_rss"` // before the first connection
	RSS     int64  `json:"rss"`
	// Compression is the mode agreed on every connection, which had
	// exchanged one compressed message before the reading.
	Compression string `json:"compression,omitempty"`
}

// perConn is the memory each connection added, in bytes.
func (s idleSample) perConn() float64 { return float64(s.RSS-s.BaseRSS) / float64(s.Conns) }

// runIdle starts a fresh server, then opens connections up to each of
// counts (ascending) and reads the server's RSS once it settles. If ex is
// non-nil, each new connection first goes through it (one message and its
// reply), so that what a server keeps after traffic counts.
func runIdle(ctx context.Context, start func() (*proc, error), counts []int, ex func(dialed) error) ([]idleSample, error) {
	p, err := start()
	if err != nil {
		return nil, err
	}
	defer p.stop()
	if !sleepCtx(ctx, 300*time.Millisecond) {
		return nil, ctx.Err()
	}
	base, err := p.rss()
	if err != nil {
		return nil, err
	}
	var held []dialed
	defer func() {
		for _, d := range held {
			d.conn.Close()
		}
	}()
	var out []idleSample
	for _, n := range counts {
		more, err := dialMany(ctx, p.target, "/", n-len(held), 1024)
		if err != nil {
			return out, err
		}
		held = append(held, more...)
		if ex != nil {
			if err := each(more, ex); err != nil {
				return out, fmt.Errorf("%s: %w", p.name, err)
			}
		}
		for i := len(held) - len(more); i < len(held); i++ {
			held[i].br = nil // the client keeps nothing but the socket
		}
		rss, err := settledRSS(ctx, p)
		if err != nil {
			return out, err
		}
		out = append(out, idleSample{Impl: p.name, Conns: n, BaseRSS: base, RSS: rss})
	}
	return out, nil
}

// settledRSS waits until the server's RSS stops moving (two readings 200
// ms apart within 0.5%), at most 6 s, and returns it: the server may still
// be accepting or setting up the last connections.
func settledRSS(ctx context.Context, p *proc) (int64, error) {
	prev, err := p.rss()
	if err != nil {
		return 0, err
	}
	deadline := time.Now().Add(6 * time.Second)
	for stable := 0; stable < 2 && time.Now().Before(deadline); {
		if !sleepCtx(ctx, 200*time.Millisecond) {
			return 0, ctx.Err()
		}
		cur, err := p.rss()
		if err != nil {
			return 0, err
		}
		if d := cur - prev; d < 0 && -d*200 < cur || d >= 0 && d*200 < cur {
			stable++
		} else {
			stable = 0
		}
		prev = cur
	}
	return prev, nil
}

// each runs f on every connection, 64 at a time, and returns the first
// error.
func each(ds []dialed, f func(dialed) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range min(len(ds), 64) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ds) {
					return
				}
				if err := f(ds[i]); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
