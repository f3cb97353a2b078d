package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// A cell is one point of the echo matrix.
type cell struct {
	Size   int `json:"size"`
	Conns  int `json:"conns"`
	Window int `json:"window"` // messages in flight per connection
	// Compression is the permessage-deflate mode, compNone for none:
	// compressed cells send JSON-like text instead of a byte pattern.
	Compression string `json:"compression,omitempty"`
}

func (c cell) mode() string {
	if c.Window == 1 {
		return "ping-pong"
	}
	return fmt.Sprintf("pipelined×%d", c.Window)
}

func (c cell) String() string {
	s := fmt.Sprintf("%s %d conn %s", sizeName(c.Size), c.Conns, c.mode())
	if c.Compression != compNone {
		s += " deflate " + c.Compression
	}
	return s
}

// inFlight is the payload the cell keeps in flight at once, in bytes.
func (c cell) inFlight() int64 { return int64(c.Size) * int64(c.Conns) * int64(c.Window) }

// heavy is the payload in flight above which a cell is measured longer.
const heavy = 64 << 20

// pipelineWindow is how many messages a pipelined connection keeps in
// flight.
const pipelineWindow = 16

// matrix returns the full echo matrix: every payload size, connection
// count and mode.
func matrix() []cell {
	var cells []cell
	for _, size := range []int{16, 1 << 10, 16 << 10, 1 << 20} {
		for _, conns := range []int{1, 64, 1000} {
			for _, w := range []int{1, pipelineWindow} {
				cells = append(cells, cell{Size: size, Conns: conns, Window: w})
			}
		}
	}
	return cells
}

// quickMatrix is a corner of each dimension, for -quick and CI.
func quickMatrix() []cell {
	return []cell{
		{Size: 16, Conns: 1, Window: 1},
		{Size: 16, Conns: 64, Window: pipelineWindow},
		{Size: 16 << 10, Conns: 64, Window: 1},
		{Size: 1 << 20, Conns: 1, Window: pipelineWindow},
	}
}

// An echoSample is one run of one cell against one server.
type echoSample struct {
	Impl      string  `json:"impl"`
	Round     int     `json:"round"`
	Bytes     int64   `json:"bytes"`  // payload echoed in the window
	Msgs      float64 `json:"msgs"`   // Bytes in messages: the last may be partial
	Warm      float64 `json:"warm_s"` // warm-up actually given
	Seconds   float64 `json:"seconds"`
	ServerCPU float64 `json:"server_cpu_s"`
	ClientCPU float64 `json:"client_cpu_s"`
	// ReplyBytes is the mean reply payload on the wire, for compressed
	// cells.
	ReplyBytes float64 `json:"reply_bytes,omitempty"`
	Error      string  `json:"error,omitempty"`
}

func (s echoSample) rate() float64 { return s.Msgs / s.Seconds }

// serverUS is the server's CPU time per message in µs.
func (s echoSample) serverUS() float64 { return s.ServerCPU * 1e6 / s.Msgs }

func (s echoSample) clientUS() float64 { return s.ClientCPU * 1e6 / s.Msgs }

// runCell measures one cell against one server: it connects, lets the
// load run for warm and until every connection has had a reply's worth of
// bytes back (at most maxWarm), then counts reply bytes and reads the
// server's CPU time over dur. Messages are reply bytes over the payload
// size. Afterwards it waits, briefly, until the kernel has released the
// connections, so that their teardown does not burden the next server.
func runCell(ctx context.Context, p *proc, c cell, warm, dur time.Duration, verify bool) (s echoSample, err error) {
	s = echoSample{Impl: p.name}
	if p.comp != c.Compression {
		return s, fmt.Errorf("%s: started for compression %q, not %q", p.name, p.comp, c.Compression)
	}
	sockets := tcpInUse()
	l := newEchoLoad(p.target, c.Size, c.Window, verify)
	if err := l.connect(ctx, c.Conns); err != nil {
		return s, err
	}
	l.start()
	defer func() {
		if cerr := l.close(); err == nil {
			err = cerr
		}
		waitSockets(sockets, 5*time.Second)
	}()
	start := time.Now()
	if !sleepCtx(ctx, warm) {
		return s, ctx.Err()
	}
	// A server that reads whole messages before answering, over many
	// connections at once, may answer nothing for seconds: measure its
	// steady state, not its first cycle.
	for l.echoed() < int64(c.Conns)*int64(l.unit()) && time.Since(start) < maxWarm {
		if !sleepCtx(ctx, 20*time.Millisecond) {
			return s, ctx.Err()
		}
	}
	s.Warm = time.Since(start).Seconds()
	m0, w0, t0, self0 := l.echoed(), l.wire(), time.Now(), selfCPU()
	cpu0, err := p.cpu()
	if err != nil {
		return s, err
	}
	if !sleepCtx(ctx, dur) {
		return s, ctx.Err()
	}
	m1, w1, t1, self1 := l.echoed(), l.wire(), time.Now(), selfCPU()
	cpu1, err := p.cpu()
	if err != nil {
		return s, err
	}
	if err := l.failed(); err != nil {
		return s, err
	}
	s.Bytes = m1 - m0
	s.Msgs = float64(s.Bytes) / float64(l.unit())
	s.Seconds = t1.Sub(t0).Seconds()
	s.ServerCPU = (cpu1 - cpu0).Seconds()
	s.ClientCPU = (self1 - self0).Seconds()
	if l.comp && s.Msgs > 0 {
		s.ReplyBytes = float64(w1-w0) / s.Msgs
	}
	if s.Bytes == 0 {
		return s, fmt.Errorf("%s: nothing echoed in %v after %.1fs of warm-up", p.name, dur, s.Warm)
	}
	return s, nil
}

// maxWarm bounds the warm-up of one cell.
const maxWarm = 15 * time.Second

// tcpInUse returns the TCP sockets in use in this network namespace, from
// /proc/net/sockstat, or -1.
func tcpInUse() int {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "TCP: inuse "); ok {
			n, err := strconv.Atoi(strings.Fields(rest)[0])
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// waitSockets waits up to timeout for the TCP sockets in use to fall back
// to about n.
func waitSockets(n int, timeout time.Duration) {
	if n < 0 {
		return
	}
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if tcpInUse() <= n+16 {
			return
		}
	}
}

// sleepCtx sleeps for d, or less if ctx ends first; it reports whether it
// slept the whole time.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// sizeName prints a payload size the way the tables do.
func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
