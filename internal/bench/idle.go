package main

import (
	"context"
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
}

// perConn is the memory each connection added, in bytes.
func (s idleSample) perConn() float64 { return float64(s.RSS-s.BaseRSS) / float64(s.Conns) }

// runIdle starts a fresh server, then opens connections up to each of
// counts (ascending) and reads the server's RSS once it settles.
func runIdle(ctx context.Context, start func() (*proc, error), counts []int) ([]idleSample, error) {
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
		for i := range more {
			more[i].br = nil // the client keeps nothing but the socket
		}
		held = append(held, more...)
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
