package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/xml"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain lets the test binary serve as the servers it starts, as the
// bench binary does: env.startBench runs os.Executable with -serve.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-serve" {
		os.Exit(serveMain(os.Args[1:]))
	}
	code := m.Run()
	if built != nil {
		os.RemoveAll(built.tmp)
	}
	os.Exit(code)
}

// testEnv builds examples/echo, once for all the tests that need it; the
// test binary removes it when it exits.
func testEnv(t *testing.T) *env {
	t.Helper()
	e, err := sharedEnv()
	require.NoError(t, err)
	return e
}

var (
	built     *env // for TestMain to clean up
	sharedEnv = sync.OnceValues(func() (*env, error) {
		raiseFileLimit() // the tests need a few hundred files, which any limit allows
		e, err := setup(context.Background(), "")
		built = e
		return e, err
	})
)

// TestEchoEveryServer runs one short cell per server, as CI does, and
// checks every reply byte for byte: a small message in ping-pong, then
// large ones pipelined, which most servers send back in fragments.
func TestEchoEveryServer(t *testing.T) {
	e := testEnv(t)
	for _, impl := range impls {
		t.Run(impl, func(t *testing.T) {
			p, err := e.startEcho(impl)
			require.NoError(t, err)
			t.Cleanup(p.stop)

			s, err := runCell(t.Context(), p, cell{Size: 16, Conns: 1, Window: 1}, 50*time.Millisecond, time.Second, true)
			require.NoError(t, err)
			assert.Positive(t, s.Msgs)
			assert.Positive(t, s.ServerCPU, "the server's CPU time comes from /proc")

			s, err = runCell(t.Context(), p, cell{Size: 70_000, Conns: 4, Window: pipelineWindow}, 50*time.Millisecond, 300*time.Millisecond, true)
			require.NoError(t, err)
			assert.Positive(t, s.Msgs)
		})
	}
}

// TestBroadcastEveryServer broadcasts to a few subscribers per server and
// checks that every one receives every message intact.
func TestBroadcastEveryServer(t *testing.T) {
	e := testEnv(t)
	for _, impl := range impls {
		t.Run(impl, func(t *testing.T) {
			p, err := e.startBench(impl)
			require.NoError(t, err)
			t.Cleanup(p.stop)
			s, err := runBroadcast(t.Context(), p, 20, 2, 10)
			require.NoError(t, err)
			assert.Positive(t, s.LatencyMS)
			assert.Equal(t, 20*10, int(s.rate()*s.Seconds+0.5))
		})
	}
}

// TestHandshakesAndIdle runs the handshake and idle-memory suites briefly
// against ours and one peer.
func TestHandshakesAndIdle(t *testing.T) {
	e := testEnv(t)
	for _, impl := range []string{"ours", "gorilla"} {
		t.Run(impl, func(t *testing.T) {
			p, err := e.startEcho(impl)
			require.NoError(t, err)
			t.Cleanup(p.stop)
			h, err := runHandshakes(t.Context(), p, 20*time.Millisecond, 200*time.Millisecond)
			require.NoError(t, err)
			assert.Positive(t, h.Handshakes)

			idle, err := runIdle(t.Context(), func() (*proc, error) { return e.startEcho(impl) }, []int{50, 100}, nil)
			require.NoError(t, err)
			require.Len(t, idle, 2)
			assert.Equal(t, 100, idle[1].Conns)
			assert.Positive(t, idle[1].RSS)
		})
	}
}

// TestReadMessage checks the client's frame parser against hand-written
// server frames: lengths at the encoding boundaries, fragments with a
// ping between them, and what it must reject.
func TestReadMessage(t *testing.T) {
	long := bytes.Repeat([]byte{'x'}, 65536)
	tests := []struct {
		name string
		wire string
		want string
		err  error
	}{
		{"empty", "\x82\x00", "", nil},
		{"short", "\x82\x05hello", "hello", nil},
		{"125", "\x82\x7d" + strings.Repeat("a", 125), strings.Repeat("a", 125), nil},
		{"126", "\x82\x7e\x00\x7e" + strings.Repeat("b", 126), strings.Repeat("b", 126), nil},
		{"65536", "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00" + string(long), string(long), nil},
		{"fragments around a ping", "\x02\x03hel\x89\x01p\x80\x02lo", "hello", nil},
		{"masked", "\x82\x81abcdx", "", errBadFrame},
		{"reserved bit", "\xc2\x00", "", errBadFrame},
		{"stray continuation", "\x80\x00", "", errBadFrame},
		{"close", "\x88\x02\x03\xe8", "", errServerClose},
		{"truncated", "\x82\x05hel", "", io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var keep []byte
			n, err := readMessage(bufio.NewReader(strings.NewReader(tc.wire)), &keep, nil)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, len(tc.want), n)
			assert.Equal(t, tc.want, string(keep))
		})
	}
}

// TestClientFrame checks masking against a byte-at-a-time reference and
// the header against RFC 6455 §5.2 for each length encoding.
func TestClientFrame(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		p := payload(n)
		f := clientFrame(p)
		hl := map[bool]int{true: 2, false: 4}[n <= 125]
		if n > 65535 {
			hl = 10
		}
		require.Len(t, f, hl+4+n)
		assert.Equal(t, byte(0x82), f[0])
		assert.Equal(t, byte(0x80), f[1]&0x80, "client frames are masked")
		assert.Equal(t, maskKey[:], f[hl:hl+4])
		for i := range n {
			if f[hl+4+i]^maskKey[i%4] != p[i] {
				t.Fatalf("byte %d of %d is masked wrong", i, n)
			}
		}
		assert.Equal(t, append(appendFrameHeader(nil, n, false), p...), serverFrame(p))
	}
}

// TestHandshakeResponse checks the client against good and bad answers.
func TestHandshakeResponse(t *testing.T) {
	good := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + clientAccept + "\r\n\r\n"
	tests := []struct {
		name, resp string
		ok         bool
	}{
		{"good", good, true},
		{"lower-case name", strings.Replace(good, "Sec-WebSocket-Accept", "sec-websocket-accept", 1), true},
		{"refused", "HTTP/1.1 403 Forbidden\r\n\r\n", false},
		{"wrong key", strings.Replace(good, clientAccept, "AAAA", 1), false},
		{"no key", "HTTP/1.1 101 Switching Protocols\r\n\r\n", false},
		{"extension not offered", strings.Replace(good, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", 1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := handshake(io.Discard, bufio.NewReader(strings.NewReader(tc.resp)), request(target{addr: "127.0.0.1:1"}, "/"), compNone)
			assert.Equal(t, tc.ok, err == nil, "%v", err)
		})
	}
}

// TestReport checks medians, per-round ratios and that the chart is
// well-formed XML.
func TestReport(t *testing.T) {
	assert.Equal(t, 2.0, median([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))

	r := echoCellResult{Cell: cell{Size: 16, Conns: 1, Window: 1}}
	for round, pair := range [][2]int64{{100, 200}, {100, 50}, {200, 300}} {
		r.Samples = append(r.Samples,
			echoSample{Impl: "ours", Round: round, Msgs: float64(pair[0]), Seconds: 1, ServerCPU: 0.01},
			echoSample{Impl: "gorilla", Round: round, Msgs: float64(pair[1]), Seconds: 1, ServerCPU: 0.01})
	}
	st := echoStats(r, echoSample.rate)
	assert.Equal(t, 100.0, st["ours"].value)
	assert.Equal(t, 200.0, st["gorilla"].value)
	assert.Equal(t, 1.5, st["gorilla"].ratio, "the median of 2, 0.5 and 1.5")

	res := &results{Meta: meta{Date: "2026-01-01T00:00:00Z", Rounds: 3}, Echo: []echoCellResult{r}}
	var svg bytes.Buffer
	writeSVG(&svg, res)
	d := xml.NewDecoder(&svg)
	for {
		_, err := d.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
	var md bytes.Buffer
	writeMarkdown(&md, res)
	assert.Contains(t, md.String(), "| 16 B | 1 | ping-pong | 100 | 200 (1.50×) |")
}

// TestCompressionEveryServer runs short compressed cells against every
// server in every mode it supports, inflating and checking every reply,
// and reads idle memory after a compressed exchange on ours.
func TestCompressionEveryServer(t *testing.T) {
	e := testEnv(t)
	for _, mode := range compModes {
		for _, impl := range impls {
			if !supports(impl, mode) {
				continue
			}
			t.Run(mode+"/"+impl, func(t *testing.T) {
				p, err := e.startEchoComp(impl, mode)
				require.NoError(t, err)
				t.Cleanup(p.stop)

				s, err := runCell(t.Context(), p, cell{Size: 1 << 10, Conns: 2, Window: 1, Compression: mode}, 50*time.Millisecond, 300*time.Millisecond, true)
				require.NoError(t, err)
				assert.Positive(t, s.Msgs)
				assert.Positive(t, s.ReplyBytes)
				assert.Less(t, s.ReplyBytes, float64(1<<10), "replies come compressed")

				s, err = runCell(t.Context(), p, cell{Size: 16 << 10, Conns: 2, Window: pipelineWindow, Compression: mode}, 50*time.Millisecond, 300*time.Millisecond, true)
				require.NoError(t, err)
				assert.Positive(t, s.Msgs)

				_, err = runCell(t.Context(), p, cell{Size: 1 << 10, Conns: 1, Window: 1}, 0, 100*time.Millisecond, true)
				assert.Error(t, err, "a cell must match the server's mode")

				if impl == "ours" {
					idle, err := runIdle(t.Context(), func() (*proc, error) { return e.startEchoComp(impl, mode) }, []int{50}, exchange(mode, compIdleSize))
					require.NoError(t, err)
					require.Len(t, idle, 1)
					assert.Positive(t, idle[0].RSS)
				}
			})
		}
	}
}

// TestCompressedMessages checks the client's side of permessage-deflate:
// payloads, their compression, the frames, what it accepts in a
// handshake and in the replies.
func TestCompressedMessages(t *testing.T) {
	for _, n := range []int{0, 1, 2, 100, 1 << 10, 16 << 10} {
		p := jsonPayload(n, 3)
		require.Len(t, p, n)
		assert.Equal(t, p, jsonPayload(n, 3))
		z := deflateMessage(p)
		got, err := inflateMessage(z, nil)
		require.NoError(t, err)
		assert.Equal(t, p, got)
	}
	assert.NotEqual(t, jsonPayload(1<<10, 0), jsonPayload(1<<10, 1))
	assert.Equal(t, 64, compVariants(1<<10))
	assert.Equal(t, 4, compVariants(16<<10))

	// Context takeover: the second message refers to the first.
	a, b := jsonPayload(1<<10, 0), jsonPayload(1<<10, 0)
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	fw.Write(a)
	fw.Flush()
	z1 := bytes.TrimSuffix(bytes.Clone(buf.Bytes()), []byte{0, 0, 0xff, 0xff})
	buf.Reset()
	fw.Write(b)
	fw.Flush()
	z2 := bytes.TrimSuffix(bytes.Clone(buf.Bytes()), []byte{0, 0, 0xff, 0xff})
	assert.Less(t, len(z2), len(z1)/4)
	var hist []byte
	got, err := inflateMessage(z1, &hist)
	require.NoError(t, err)
	assert.Equal(t, a, got)
	got, err = inflateMessage(z2, &hist)
	require.NoError(t, err)
	assert.Equal(t, b, got)

	f := compressedClientFrame(deflateMessage(a))
	assert.Equal(t, byte(0xc1), f[0], "FIN, RSV1, text")
	wire := "\xc1\x03abc" + "\x41\x02de\x80\x01f"
	br := bufio.NewReader(strings.NewReader(wire))
	n, compressed, err := readFrames(br, nil, nil, true)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.True(t, compressed)
	n, compressed, err = readFrames(br, nil, nil, true)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.True(t, compressed)
	_, _, err = readFrames(bufio.NewReader(strings.NewReader("\x80\x00")), nil, nil, true)
	assert.ErrorIs(t, err, errBadFrame)
	_, _, err = readFrames(bufio.NewReader(strings.NewReader("\x01\x01a\xc0\x01b")), nil, nil, true)
	assert.ErrorIs(t, err, errBadFrame, "RSV1 on a continuation")
	_, err = readMessage(bufio.NewReader(strings.NewReader("\xc1\x01a")), nil, nil)
	assert.ErrorIs(t, err, errBadFrame, "RSV1 without the extension")

	accept := "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: " + clientAccept + "\r\n"
	tests := []struct {
		mode, ext string
		ok        bool
	}{
		{compNoTakeover, "permessage-deflate; server_no_context_takeover; client_no_context_takeover", true},
		{compNoTakeover, "", false},
		{compTakeover, "permessage-deflate", true},
		{compTakeover, "permessage-deflate; client_max_window_bits=15; server_max_window_bits=15", true},
		{compTakeover, "permessage-deflate; server_no_context_takeover", false},
		{compTakeover, "permessage-deflate; client_max_window_bits=12", false},
		{compTakeover, "x-webkit-deflate-frame", false},
		{compTakeover, "permessage-deflate; foo", false},
	}
	for _, tc := range tests {
		resp := accept
		if tc.ext != "" {
			resp += "Sec-WebSocket-Extensions: " + tc.ext + "\r\n"
		}
		tgt := target{addr: "127.0.0.1:1", comp: tc.mode}
		assert.Contains(t, string(request(tgt, "/")), "Sec-WebSocket-Extensions: "+offer(tc.mode)+"\r\n")
		err := handshake(io.Discard, bufio.NewReader(strings.NewReader(resp+"\r\n")), request(tgt, "/"), tc.mode)
		assert.Equal(t, tc.ok, err == nil, "%s %q: %v", tc.mode, tc.ext, err)
	}
}
