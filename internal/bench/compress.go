package main

import (
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Compression modes (permessage-deflate, RFC 7692) as the load generator
// offers them and the servers are started with. The empty mode offers
// nothing, as every suite but compression does.
const (
	compNone       = ""
	compNoTakeover = "no-context-takeover"
	compTakeover   = "context-takeover"
)

// compModes are the modes the compression suite measures.
var compModes = []string{compNoTakeover, compTakeover}

// compSupport lists the compression modes each server can be started
// with. gorilla, gobwas (wsflate, per its README) and nbio compress each
// message on its own only; raw speaks no WebSocket.
var compSupport = map[string][]string{
	"ours":    {compNoTakeover, compTakeover},
	"gorilla": {compNoTakeover},
	"coder":   {compNoTakeover, compTakeover},
	"gobwas":  {compNoTakeover},
	"gws":     {compNoTakeover, compTakeover},
	"nbio":    {compNoTakeover},
}

func supports(impl, mode string) bool {
	return mode == compNone || slices.Contains(compSupport[impl], mode)
}

// offer is the Sec-WebSocket-Extensions value the client sends in mode:
// in the no-takeover mode it asks that neither side keep context; in the
// takeover mode it asks nothing, so that both may.
func offer(mode string) string {
	switch mode {
	case compNoTakeover:
		return "permessage-deflate; client_no_context_takeover; server_no_context_takeover"
	case compTakeover:
		return "permessage-deflate"
	}
	return ""
}

// checkAgreed checks a server's permessage-deflate response against what
// mode offered: the takeover mode must not have been turned into the
// other, and the server must not cap the window our frames were
// compressed with (compress/flate always uses 32 KiB).
func checkAgreed(mode string, value []byte) error {
	params := strings.Split(string(value), ";")
	if strings.TrimSpace(params[0]) != "permessage-deflate" {
		return fmt.Errorf("%w: extension %q not offered", errHandshake, value)
	}
	for _, p := range params[1:] {
		name, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch name {
		case "server_no_context_takeover":
			if mode == compTakeover {
				return fmt.Errorf("%w: context takeover declined: %q", errHandshake, value)
			}
		case "client_no_context_takeover", "server_max_window_bits":
		case "client_max_window_bits":
			if n, err := strconv.Atoi(strings.Trim(v, `"`)); v != "" && (err != nil || n < 15) {
				return fmt.Errorf("%w: client window capped: %q", errHandshake, value)
			}
		default:
			return fmt.Errorf("%w: unknown parameter in %q", errHandshake, value)
		}
	}
	return nil
}

// jsonPayload returns n bytes of JSON-like text: an array of records with
// varied numbers and words, the kind of message compression is for. It is
// exactly n bytes long, and the same for every n, variant and server;
// variants share the records' shape but not their values.
func jsonPayload(n, variant int) []byte {
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"}
	var b bytes.Buffer
	b.WriteByte('[')
	x := uint32(2463534242) + uint32(variant)*2654435761
	next := func() uint32 { // xorshift32: varied but reproducible
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		return x
	}
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"user":"%s-%d","active":%t,"score":%d.%03d,"tags":["%s","%s"],"ts":"2026-01-%02dT%02d:%02d:%02dZ"}`,
			10000+i, words[next()%10], next()%1000, next()%2 == 0, next()%100, next()%1000,
			words[next()%10], words[next()%10], 1+next()%28, next()%24, next()%60, next()%60)
	}
	// Cut to n and close the array; pad what the cut leaves with spaces
	// inside a final string, so that the text stays JSON-like.
	p := b.Bytes()[:max(n-2, 0)]
	out := make([]byte, 0, n)
	out = append(out, p...)
	for len(out) < n-1 {
		out = append(out, ' ')
	}
	if n > 0 {
		out = append(out, ']')
	}
	return out[:n]
}

// deflateMessage compresses p as one permessage-deflate message (RFC 7692
// §7.2.1): raw deflate, flushed to a byte boundary, the trailing empty
// stored block (00 00 ff ff) removed. It refers to no earlier message, so
// it is valid with or without context takeover, sent any number of times.
func deflateMessage(p []byte) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.DefaultCompression)
	w.Write(p)
	w.Flush()
	return bytes.TrimSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// compressedClientFrame returns z, a compressed text message, as one masked
// client frame with RSV1 set.
func compressedClientFrame(z []byte) []byte {
	f := clientFrame(z)
	f[0] = 0x80 | 0x40 | 0x1 // FIN, RSV1, text
	return f
}

// deflateTail ends a message's deflate data for a reader: the empty stored
// block the sender removed, then a final empty block so that the reader
// ends cleanly.
var deflateTail = []byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}

// inflateMessage decompresses a server's compressed message z. hist is
// what the server sent before on the connection, for context takeover
// (nil without it); the message is appended to it, keeping 32 KiB.
func inflateMessage(z []byte, hist *[]byte) ([]byte, error) {
	var dict []byte
	if hist != nil {
		dict = *hist
	}
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(z), bytes.NewReader(deflateTail)), dict)
	p, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("inflate a %d-byte reply: %w", len(z), err)
	}
	if hist != nil {
		*hist = append(*hist, p...)
		if k := len(*hist) - 32<<10; k > 0 {
			*hist = append((*hist)[:0], (*hist)[k:]...)
		}
	}
	return p, nil
}

// compVariants is how many different messages of size bytes a compressed
// load sends in turn: enough to fill twice the 32 KiB window, so that
// with context takeover no message finds itself in the window and each
// compresses as a fresh message with the same shape would.
func compVariants(size int) int {
	return min(max((64<<10+size-1)/max(size, 1), 1), 64)
}

// compMatrix returns the compression suite's echo cells: JSON-like text
// of 1 KiB and 16 KiB over 64 connections, ping-pong and pipelined, in
// each mode.
func compMatrix() []cell {
	var cells []cell
	for _, mode := range compModes {
		for _, size := range []int{1 << 10, 16 << 10} {
			for _, w := range []int{1, pipelineWindow} {
				cells = append(cells, cell{size, 64, w, mode})
			}
		}
	}
	return cells
}

// compIdleSize is the message each connection exchanges before the
// compressed idle-memory reading: above every server's threshold for
// compressing.
const compIdleSize = 1 << 10

// measureCompression runs the compression suite: for each mode, the
// compressed echo cells against every server of p that supports the mode,
// then memory per idle connection after one compressed exchange each.
func measureCompression(ctx context.Context, e *env, p plan, log *logger, fail func(error)) ([]echoCellResult, []idleSample) {
	var cells []echoCellResult
	var idle []idleSample
	for _, mode := range compModes {
		mp := p
		mp.impls = slices.DeleteFunc(slices.Clone(p.impls), func(impl string) bool { return !supports(impl, mode) })
		if len(mp.impls) == 0 || ctx.Err() != nil {
			continue
		}
		cs := slices.DeleteFunc(slices.Clone(p.comp), func(c cell) bool { return c.Compression != mode })
		if len(cs) > 0 {
			procs, stop, err := startAll(mp, func(impl string) (*proc, error) { return e.startEchoComp(impl, mode) })
			if err != nil {
				fail(err)
				continue
			}
			cells = append(cells, echoCells(ctx, mp, cs, procs, log, fail)...)
			stop()
		}
		if p.compIdle == 0 {
			continue
		}
		counts := idleCounts([]int{p.compIdle}, log)
		ex := exchange(mode, compIdleSize)
		for round := range p.rounds {
			for _, impl := range rotate(mp.impls, round*3) {
				if ctx.Err() != nil {
					return cells, idle
				}
				s, err := runIdle(ctx, func() (*proc, error) { return e.startEchoComp(impl, mode) }, counts, ex)
				for i := range s {
					s[i].Round = round
					s[i].Compression = mode
				}
				idle = append(idle, s...)
				if err != nil {
					fail(fmt.Errorf("idle %s %s: %w", impl, mode, err))
				}
			}
		}
		log.printf("idle deflate %s done", mode)
	}
	return cells, idle
}

// exchange returns a function that sends one compressed message of size
// bytes on a connection and reads the reply, without inflating it.
func exchange(mode string, size int) func(dialed) error {
	frame := compressedClientFrame(deflateMessage(jsonPayload(size, 0)))
	return func(d dialed) error {
		d.conn.SetDeadline(time.Now().Add(10 * time.Second))
		defer d.conn.SetDeadline(time.Time{})
		if _, err := d.conn.Write(frame); err != nil {
			return err
		}
		_, _, err := readFrames(d.br, nil, nil, true)
		return err
	}
}
