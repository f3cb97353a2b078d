package ws_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/internal/leakcheck"
	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/require"
)

// safetyTimeout bounds raw sockets and waits that would otherwise hang a
// broken test. It never paces a test: every wait ends on an event first.
const safetyTimeout = 10 * time.Second

// checkGoroutines fails t if, once t's other cleanups have run, more
// goroutines are left than when it was called. Call it first in a test, so
// that its cleanup runs last; the test must not be parallel, since
// parallel tests would change the count. TestMain checks the whole
// package the same way once every test has run.
func checkGoroutines(t *testing.T) {
	t.Helper()
	leakcheck.Check(t)
}

// waitGoroutines waits, up to leakcheck.Timeout, until at most base
// goroutines run, failing t with every stack if they do not.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	require.NoError(t, leakcheck.Wait(base, leakcheck.Timeout))
}

// wsURL returns the ws:// (or wss://) URL of an httptest server.
func wsURL(srv *httptest.Server) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// serve starts an httptest server whose handler accepts every request
// with opts and runs handle on the Conn, which it then closes. The error
// handle returns, or Accept's, arrives on the returned channel. handle's
// ctx ends at cleanup, after the server is closed; cleanup then waits for
// every handler to return.
func serve(t testing.TB, opts *ws.AcceptOptions, handle func(ctx context.Context, c *ws.Conn) error) (*httptest.Server, <-chan error) {
	t.Helper()
	return serveHTTP(t, false, func(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
		c, err := ws.Accept(w, r, opts)
		if err != nil {
			return err
		}
		defer c.CloseNow()
		return handle(ctx, c)
	})
}

// serveHTTP is serve for handlers that call Accept themselves, over TLS
// if tls is true.
func serveHTTP(t testing.TB, tls bool, h func(ctx context.Context, w http.ResponseWriter, r *http.Request) error) (*httptest.Server, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 64)
	var wg sync.WaitGroup
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		errs <- h(ctx, w, r)
	})
	srv := httptest.NewUnstartedServer(handler)
	if tls {
		// Tests dial it without trusting its certificate on purpose;
		// keep the server's complaint about that out of the output.
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(func() {
		// Close waits for every handler that has not hijacked its
		// connection, so no wg.Add can follow it.
		srv.Close()
		cancel()
		wg.Wait()
	})
	return srv, errs
}

// echo returns each message to its sender until Read fails.
func echo(ctx context.Context, c *ws.Conn) error {
	for {
		typ, p, err := c.Read(ctx)
		if err != nil {
			return err
		}
		if err := c.Write(ctx, typ, p); err != nil {
			return err
		}
	}
}

// recv waits for one value from ch, failing t after safetyTimeout.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(safetyTimeout):
		require.FailNow(t, "timed out waiting for a result")
		panic("unreachable")
	}
}

// dial connects to srv, closing the Conn at cleanup.
func dial(t testing.TB, srv *httptest.Server, opts *ws.DialOptions) *ws.Conn {
	t.Helper()
	c, resp, err := ws.Dial(t.Context(), wsURL(srv), opts)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// message is one result of Conn.Read.
type message struct {
	typ ws.MessageType
	p   []byte
	err error
}

// readLoop reads c on a new goroutine until Read fails, delivering each
// result, the failure last. It reads ahead of the test by up to 1024
// messages, so that the Conn keeps answering control frames. The goroutine
// is joined at cleanup, which closes c first in case it is still blocked.
func readLoop(t *testing.T, c *ws.Conn) <-chan message {
	t.Helper()
	return pump(t, func() (message, bool) {
		typ, p, err := c.Read(context.Background())
		return message{typ, p, err}, err == nil
	}, func() { c.CloseNow() })
}

// pump calls next on a new goroutine until it reports false, delivering
// each result, the last included, up to 1024 ahead of the test. At cleanup
// it stops delivering, calls unblock to end a blocked next, and joins the
// goroutine.
func pump[T any](t *testing.T, next func() (T, bool), unblock func()) <-chan T {
	ch := make(chan T, 1024)
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			v, more := next()
			select {
			case ch <- v:
			case <-quit:
				return
			}
			if !more {
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(quit)
		unblock()
		<-done
	})
	return ch
}

// pipe returns a Conn made with opts over one end of a net.Pipe, and a raw
// peer on the other end. Both are closed at cleanup.
func pipe(t *testing.T, opts *ws.ConnOptions) (*ws.Conn, *rawPeer) {
	t.Helper()
	a, b := net.Pipe()
	c := ws.NewConn(a, opts)
	t.Cleanup(func() {
		c.CloseNow()
		b.Close()
	})
	return c, newRawPeer(b)
}

// pipePair returns a server and a client Conn connected by a net.Pipe.
func pipePair(t *testing.T, server, client *ws.Config) (srv, cli *ws.Conn) {
	t.Helper()
	a, b := net.Pipe()
	so := &ws.ConnOptions{}
	if server != nil {
		so.Config = *server
	}
	co := &ws.ConnOptions{Client: true}
	if client != nil {
		co.Config = *client
	}
	srv, cli = ws.NewConn(a, so), ws.NewConn(b, co)
	t.Cleanup(func() {
		srv.CloseNow()
		cli.CloseNow()
	})
	return srv, cli
}

// A rawPeer speaks frames byte by byte, to check what a Conn puts on the
// wire and how it takes what no Conn would send.
type rawPeer struct {
	net.Conn
	br *bufio.Reader
}

func newRawPeer(c net.Conn) *rawPeer {
	return &rawPeer{Conn: c, br: bufio.NewReader(c)}
}

// send writes each of frames in turn.
func (p *rawPeer) send(t *testing.T, frames ...[]byte) {
	t.Helper()
	for _, f := range frames {
		_, err := p.Write(f)
		require.NoError(t, err)
	}
}

// next reads one frame.
func (p *rawPeer) next(t *testing.T) rawFrame {
	t.Helper()
	f, err := readRawFrame(p.br)
	require.NoError(t, err)
	return f
}

// requireClose reads a close frame with code want, then the end of the
// stream: the Conn failed the connection (RFC 6455 §7.1.7).
func (p *rawPeer) requireClose(t *testing.T, want ws.StatusCode) {
	t.Helper()
	f := p.next(t)
	require.Equal(t, opClose, f.op, "want a close frame, got %v", f)
	require.GreaterOrEqual(t, len(f.payload), 2, "close frame without a code")
	require.Equal(t, want, ws.StatusCode(binary.BigEndian.Uint16(f.payload)), "close code")
	_, err := readRawFrame(p.br)
	require.ErrorIs(t, err, io.EOF, "want the connection to end after the close frame")
}

// frames reads frames on a new goroutine until the stream ends, delivering
// each; the error that ends the stream comes last. It reads ahead of the
// test by up to 1024 frames, so that writes to the peer do not block on
// the test. Joined at cleanup, which closes the peer first.
func (p *rawPeer) frames(t *testing.T) <-chan rawFrame {
	t.Helper()
	return pump(t, func() (rawFrame, bool) {
		f, err := readRawFrame(p.br)
		f.err = err
		return f, err == nil
	}, func() { p.Close() })
}

// Opcodes of RFC 6455 §5.2, as the raw peer sees them.
const (
	opContinuation byte = 0x0
	opText         byte = 0x1
	opBinary       byte = 0x2
	opClose        byte = 0x8
	opPing         byte = 0x9
	opPong         byte = 0xA
)

// rawFrame is one frame as read off the wire, payload unmasked.
type rawFrame struct {
	fin     bool
	rsv     byte
	op      byte
	masked  bool
	payload []byte
	err     error // set by rawPeer.frames when the stream ended
}

func (f rawFrame) String() string {
	if f.err != nil {
		return "error: " + f.err.Error()
	}
	return fmt.Sprintf("{fin:%v rsv:%#x op:%#x masked:%v len:%d}", f.fin, f.rsv, f.op, f.masked, len(f.payload))
}

// readRawFrame reads one frame following RFC 6455 §5.2 directly, without
// package frame, so that tests check ws's output against the RFC rather
// than against its own codec. io.EOF means the stream ended between frames.
func readRawFrame(r io.Reader) (rawFrame, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:2]); err != nil {
		return rawFrame{}, err
	}
	f := rawFrame{
		fin:    b[0]&0x80 != 0,
		rsv:    b[0] & 0x70,
		op:     b[0] & 0x0f,
		masked: b[1]&0x80 != 0,
	}
	n := uint64(b[1] & 0x7f)
	switch n {
	case 126:
		if _, err := io.ReadFull(r, b[:2]); err != nil {
			return f, unexpected(err)
		}
		n = uint64(binary.BigEndian.Uint16(b[:2]))
	case 127:
		if _, err := io.ReadFull(r, b[:8]); err != nil {
			return f, unexpected(err)
		}
		n = binary.BigEndian.Uint64(b[:8])
	}
	var key [4]byte
	if f.masked {
		if _, err := io.ReadFull(r, key[:]); err != nil {
			return f, unexpected(err)
		}
	}
	if n > 64<<20 {
		return f, fmt.Errorf("frame of %d bytes is too long for a test", n)
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(r, f.payload); err != nil {
		return f, unexpected(err)
	}
	if f.masked {
		for i := range f.payload {
			f.payload[i] ^= key[i%4]
		}
	}
	return f, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// testMask is the masking key of the frames the raw peer sends as a
// client. It is not zero, so that a server that forgot to unmask would
// see garbage.
var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// clientFrame returns wire, one frame written unmasked the way RFC 6455
// §5.7 writes its examples ("\x81\x05Hello"), masked as a client must send
// it (§5.3). The payload is whatever follows the header in wire, which may
// be shorter than the header declares. A single byte, the start of a
// header, is returned as it is.
func clientFrame(wire string) []byte {
	b := []byte(wire)
	if len(b) < 2 {
		return b
	}
	n := 2
	switch b[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	out := make([]byte, 0, len(b)+4)
	out = append(out, b[:n]...)
	out[1] |= 0x80
	out = append(out, testMask[:]...)
	for i, c := range b[n:] {
		out = append(out, c^testMask[i%4])
	}
	return out
}

// wireFrame encodes an unmasked frame whose first byte is b0 (FIN, RSV and
// opcode) with payload p, in the minimal length form of RFC 6455 §5.2.
func wireFrame(b0 byte, p []byte) string {
	h := []byte{b0}
	switch n := len(p); {
	case n < 126:
		h = append(h, byte(n))
	case n <= 0xffff:
		h = append(h, 126)
		h = binary.BigEndian.AppendUint16(h, uint16(n))
	default:
		h = append(h, 127)
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	return string(h) + string(p)
}

// closePayload encodes a close frame's payload (RFC 6455 §5.5.1).
func closePayload(code uint16, reason string) string {
	return string(binary.BigEndian.AppendUint16(nil, code)) + reason
}

// textOfSize returns n bytes of valid UTF-8 that mixes one- and
// three-byte sequences, so that fragment and buffer boundaries fall inside
// characters.
func textOfSize(n int) []byte {
	b := make([]byte, 0, n)
	for i := 0; len(b) < n; i++ {
		if i%2 == 1 && n-len(b) >= 3 {
			b = append(b, "€"...)
		} else {
			b = append(b, 'a'+byte(i%26))
		}
	}
	return b
}

// binaryOfSize returns n bytes of a pattern that a shifted or dropped
// byte would break.
func binaryOfSize(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// rawDial opens a TCP connection to srv and performs the opening handshake
// by hand with the key of RFC 6455 §1.3, whose accept value the RFC gives.
func rawDial(t *testing.T, srv *httptest.Server) *rawPeer {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(safetyTimeout)))
	_, err = io.WriteString(conn, "GET /chat HTTP/1.1\r\n"+
		"Host: "+srv.Listener.Addr().String()+"\r\n"+
		"Upgrade: websocket\r\n"+
		"Connection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"+
		"Sec-WebSocket-Version: 13\r\n\r\n")
	require.NoError(t, err)
	p := newRawPeer(conn)
	resp, err := http.ReadResponse(p.br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	require.Equal(t, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", resp.Header.Get("Sec-WebSocket-Accept"))
	return p
}
