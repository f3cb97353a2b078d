package conformance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ab7c482b/websocket/frame"
	"github.com/ab7c482b/websocket/handshake"
	"github.com/ab7c482b/websocket/internal/autobahn"
	"github.com/ab7c482b/websocket/internal/rawws"
	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// direction says which end of the library a case tests.
type direction int

const (
	// toServer: a raw client talks to examples/echo.
	toServer direction = 1 << iota
	// toClient: a raw server talks to ws.Dial running autobahn.Echo.
	toClient
	both = toServer | toClient
)

func (d direction) String() string {
	if d == toServer {
		return "server"
	}
	return "client"
}

// Deadlines. A case gets caseTimeout (heavyTimeout when it moves more than
// a MiB) for everything, handshake to TCP close; a failed connection must
// show its close frame within failFastWait of the bad data.
const (
	caseTimeout  = 15 * time.Second
	heavyTimeout = 2 * time.Minute
	failFastWait = 2 * time.Second
	heavyBytes   = 1 << 20
)

// testCase is one row of the table: what the raw side sends and the
// outcome RFC 6455 requires.
type testCase struct {
	id, desc string
	dirs     direction
	// send is what the raw side sends, in order. Echo cases end it with
	// the raw side's close frame.
	send []wireFrame
	// chop, if positive, writes the bytes in pieces of chop bytes, each
	// its own write; trickle writes the first trickle bytes one by one.
	chop, trickle int
	// holdFrames frames at the end of send, and holdBytes bytes of the
	// frame before them, are sent only if the library's close frame has
	// not come within failFastWait: a case of failing fast.
	holdFrames, holdBytes int
	// want lists the messages and pongs that must come back, in order.
	want []event
	// code is the code of the close frame that ends the connection;
	// CloseNoStatus means a close frame with an empty payload.
	code frame.CloseCode
	// fails is set when the library must fail the connection, sending
	// its close frame first; otherwise it answers the raw side's close.
	fails bool
	// serverDropsFirst adds the check that the client, having answered
	// the raw server's close, waits for the server to close TCP first.
	serverDropsFirst bool
	// pmd, if set, negotiates permessage-deflate (RFC 7692); otherwise
	// the raw side offers nothing and the client's offer is declined.
	pmd *deflateSetup
	// dialFails: our client must fail the handshake on the raw server's
	// response (client only; send and want are unused).
	dialFails bool
}

// setup is how tc negotiates compression; the zero setup offers nothing.
func (tc *testCase) setup() deflateSetup {
	if tc.pmd == nil {
		return deflateSetup{}
	}
	return *tc.pmd
}

func (tc *testCase) String() string { return tc.id + " " + tc.desc }

// stream encodes what the raw side sends, split into what goes first and
// what is held back until the library's close (for failing fast).
func (tc *testCase) stream(mask bool) (head, tail []byte) {
	var b []byte
	held := tc.holdBytes
	for i, f := range tc.send {
		b = f.appendTo(b, mask)
		if i >= len(tc.send)-tc.holdFrames {
			held += f.encodedLen(mask)
		}
	}
	return b[:len(b)-held], b[len(b)-held:]
}

// size is the payload the raw side sends in data frames.
func (tc *testCase) size() int {
	n := 0
	for _, f := range tc.send {
		if !f.op.IsControl() {
			n += len(f.payload)
		}
	}
	return n
}

func (tc *testCase) timeout() time.Duration {
	if tc.size() > heavyBytes {
		return heavyTimeout
	}
	return caseTimeout
}

// outcome is what the raw side saw.
type outcome struct {
	events     []event
	closed     bool            // a close frame came
	code       frame.CloseCode // its code
	partial    []byte          // an unfinished text message when it came
	violations []string        // RFC 6455 requirements the library broke
	readErr    error           // why reading stopped, if not after a close
	ended      bool            // the TCP connection ended after the close
	endErr     error           // how waiting for the end stopped, if not
	writeErr   error
	late       bool // the held bytes were sent: no close came in time
}

type writeResult struct {
	err  error
	late bool
}

// play runs tc over an open connection: it writes what tc sends while it
// reads what comes back, up to and including the close frame, then waits
// for the TCP connection to end where the library must end it.
// libraryIsClient says which end the library is.
func play(conn net.Conn, br *bufio.Reader, tc *testCase, libraryIsClient bool) outcome {
	head, tail := tc.stream(!libraryIsClient)
	closeSeen := make(chan struct{})
	wrote := make(chan writeResult, 1)
	go func() {
		err := writeChopped(conn, head, tc.chop, tc.trickle)
		late := false
		if err == nil && len(tail) > 0 {
			t := time.NewTimer(failFastWait)
			select {
			case <-closeSeen:
				// The close came first; a peer that has seen it
				// sends no more data (RFC 6455 §5.5.1).
			case <-t.C:
				late = true
				err = writeChopped(conn, tail, tc.chop, 0)
			}
			t.Stop()
		}
		wrote <- writeResult{err, late}
	}()

	var o outcome
	var inf *rawInflater
	if s := tc.setup(); s.agreed != "" {
		d := toServer
		if libraryIsClient {
			d = toClient
		}
		inf = &rawInflater{takeover: s.raw(d).inTakeover}
	}
	o.read(br, libraryIsClient, inf)
	if o.closed {
		close(closeSeen)
	}
	wr := <-wrote // bounded by the connection's deadline
	o.writeErr, o.late = wr.err, wr.late
	if !o.closed {
		return o
	}
	if tc.fails {
		// Answer the library's close, as RFC 6455 §5.5.1 asks. It may
		// already have gone: a write error here means nothing.
		conn.Write(closeFrame(o.code, "").appendTo(nil, !libraryIsClient))
	}
	switch {
	case !libraryIsClient || tc.fails:
		// The server closes TCP right after the closing handshake;
		// a client that failed the connection half-closes it
		// (RFC 6455 §7.1.1, §7.1.7).
		o.awaitEnd(br, libraryIsClient, inf != nil)
	case tc.serverDropsFirst:
		// RFC 6455 §7.1.1: the client waits for the server to close
		// TCP first. Nothing must come within a short wait.
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, err := readFrame(br, libraryIsClient, inf != nil)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			o.violations = append(o.violations, fmt.Sprintf("the client did not leave closing TCP to the server: read after its close gave %v", err))
		}
	}
	return o
}

// read reads frames until the library's close frame, a violation, or the
// end of the connection. inf, if not nil, decompresses messages with RSV1
// set: permessage-deflate was agreed.
func (o *outcome) read(br *bufio.Reader, libraryIsClient bool, inf *rawInflater) {
	var open, compressed bool // a fragmented message is open; it is compressed
	var op frame.Opcode
	var buf []byte
	for {
		f, err := readFrame(br, libraryIsClient, inf != nil)
		if err != nil {
			if isViolation(err) {
				o.violations = append(o.violations, err.Error())
			} else {
				o.readErr = err
			}
			return
		}
		rsv1 := f.Rsv&frame.Rsv1 != 0
		if rsv1 && (f.Opcode.IsControl() || f.Opcode == frame.OpContinuation) {
			o.violations = append(o.violations, fmt.Sprintf("RSV1 on a %v frame: only the first frame of a compressed message has it (RFC 7692 §6)", f.Opcode))
			return
		}
		switch f.Opcode {
		case frame.OpClose:
			o.closed = true
			o.code, err = checkClosePayload(f.payload)
			if err != nil {
				o.violations = append(o.violations, err.Error())
			}
			if open && op == frame.OpText && !compressed {
				o.partial = buf
				if !validUTF8Prefix(buf) {
					o.violations = append(o.violations, "an unfinished text message holds invalid UTF-8 (RFC 6455 §8.1)")
				}
			}
			return
		case frame.OpPing, frame.OpPong:
			o.events = append(o.events, event{op: f.Opcode, data: f.payload})
			continue
		case frame.OpContinuation:
			if !open {
				o.violations = append(o.violations, "continuation frame with no message open (RFC 6455 §5.4)")
				return
			}
			buf = append(buf, f.payload...)
		default:
			if open {
				o.violations = append(o.violations, fmt.Sprintf("%v frame inside an unfinished message (RFC 6455 §5.4)", f.Opcode))
				return
			}
			open, op, buf, compressed = true, f.Opcode, f.payload, rsv1
		}
		if f.Fin && compressed {
			if buf, err = inf.inflate(buf); err != nil {
				o.violations = append(o.violations, err.Error())
				return
			}
		}
		if f.Fin {
			if op == frame.OpText && !utf8.Valid(buf) {
				o.violations = append(o.violations, "text message is not valid UTF-8 (RFC 6455 §8.1)")
			}
			o.events = append(o.events, event{op, buf, compressed})
			open, buf = false, nil
		}
	}
}

// awaitEnd reads after the close frame until the connection ends. Any
// frame there is a violation: nothing follows a close frame (RFC 6455
// §5.5.1).
func (o *outcome) awaitEnd(br *bufio.Reader, libraryIsClient, deflate bool) {
	f, err := readFrame(br, libraryIsClient, deflate)
	switch {
	case err == nil:
		o.violations = append(o.violations, fmt.Sprintf("%v frame after the close frame (RFC 6455 §5.5.1)", f.Opcode))
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		o.ended = true
	default:
		o.endErr = err
	}
}

func writeChopped(w io.Writer, b []byte, chop, trickle int) error {
	for ; trickle > 0 && len(b) > 0; trickle-- {
		if _, err := w.Write(b[:1]); err != nil {
			return err
		}
		b = b[1:]
	}
	if chop <= 0 {
		chop = len(b)
	}
	for len(b) > 0 {
		n := min(chop, len(b))
		if _, err := w.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// check asserts that o is the outcome tc requires.
func check(t *testing.T, tc *testCase, o outcome, d direction) {
	t.Helper()
	assert.Empty(t, o.violations, "%v: the library broke RFC 6455", tc)
	assert.Empty(t, diffEvents(tc.want, o.events), "%v: what came back", tc)
	if assert.True(t, o.closed, "%v: no close frame came; reading stopped with %v", tc, o.readErr) {
		assert.Equal(t, tc.code, o.code, "%v: close code", tc)
		if d == toServer || tc.fails {
			assert.True(t, o.ended, "%v: the TCP connection did not end after the close frame: %v", tc, o.endErr)
		}
	}
	assert.False(t, o.late, "%v: no close frame within %v of the bad data: the connection was not failed fast", tc, failFastWait)
	if !tc.fails {
		assert.NoError(t, o.writeErr, "%v: sending", tc)
	}
}

// runAgainstServer plays tc against the echo server at addr.
func runAgainstServer(t *testing.T, tc *testCase, addr string) {
	deadline := time.Now().Add(tc.timeout())
	s := tc.setup()
	var offer string
	if s.offer != "" {
		offer = "Sec-WebSocket-Extensions: " + s.offer + "\r\n"
	}
	conn, br, exts, err := rawws.DialExtensions(addr, "/"+tc.id, offer, deadline)
	require.NoError(t, err, "%v: handshake", tc)
	defer conn.Close()
	require.Equal(t, parseExtensions(s.agreed), parseExtensions(exts),
		"%v: the server answered the offer %q with Sec-WebSocket-Extensions %q (RFC 7692 §5, §7.1)", tc, s.offer, exts)
	check(t, tc, play(conn, br, tc, false), toServer)
}

// runAgainstClient plays tc against ws.Dial running autobahn.Echo, and
// checks how the client's echo loop ended: with the close code of the raw
// server's close frame, or the error that failed the connection.
func runAgainstClient(t *testing.T, tc *testCase) {
	deadline := time.Now().Add(tc.timeout())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		c, _, err := ws.Dial(ctx, "ws://"+ln.Addr().String()+"/"+tc.id, &ws.DialOptions{
			Config: ws.Config{ReadLimit: autobahn.ReadLimit, Compression: tc.setup().mode},
		})
		if err != nil {
			done <- fmt.Errorf("dial: %w", err)
			return
		}
		err = autobahn.Echo(ctx, c)
		c.CloseNow()
		done <- err
	}()
	s := tc.setup()
	conn, br, offer, err := acceptRaw(ln, deadline, s.agreed)
	if err != nil {
		cancel()
		<-done
		require.NoError(t, err, "%v: handshake", tc)
	}
	assert.Equal(t, parseExtensions(clientOffers[s.mode]), parseExtensions(offer), "%v: the client's offer in mode %v", tc, s.mode)
	if tc.dialFails {
		// RFC 7692 §5.2, §7.1: the client fails the connection on a
		// response it did not offer or cannot honour; RFC 6455 §4.1: it
		// closes TCP without a frame.
		_, err := readFrame(br, true, false)
		assert.ErrorIs(t, err, io.EOF, "%v: the client should close the connection after the response %q", tc, s.agreed)
		conn.Close()
		err = <-done // bounded by ctx
		var he *handshake.Error
		assert.ErrorAs(t, err, &he, "%v: Dial should fail the handshake on the response %q", tc, s.agreed)
		return
	}
	o := play(conn, br, tc, true)
	conn.Close()
	check(t, tc, o, toClient)

	var echoErr error
	select {
	case echoErr = <-done:
	case <-time.After(caseTimeout):
		cancel()
		echoErr = <-done
		t.Errorf("%v: the client did not return within %v of the connection's end", tc, caseTimeout)
	}
	var pe *frame.ProtocolError
	if tc.fails {
		if assert.ErrorAs(t, echoErr, &pe, "%v: the client's echo loop should end with the protocol error", tc) {
			assert.Equal(t, tc.code, pe.Code, "%v: the client's protocol error", tc)
		}
	} else {
		assert.Equal(t, tc.code, ws.CloseStatus(echoErr), "%v: the client's echo loop should end with the server's close code; got %v", tc, echoErr)
	}
}
