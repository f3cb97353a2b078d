package hostile

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/frame"
	"github.com/ab7c482b/websocket/internal/rawws"
	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Bounds of the resource attacks.
const (
	// rssBound is how far above its baseline a server's resident set
	// may grow during an attack on it.
	rssBound = 64 << 20
	// streamCap bounds what the raw client streams after a length claim.
	streamCap = 64 << 20
)

func resourceCases() []hostileCase {
	return []hostileCase{
		failWith("§10.4 length claim of 2^63-1 bytes", frame.CloseMessageTooBig,
			header(0x82, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)),
		{name: "§10.4 1 TiB length claim, then data streamed", servers: []string{"echo", "chat"}, run: hugeClaim},
		{name: "§5.4 one message of 2^20 one-byte fragments", servers: []string{"echo", "chat"}, own: true, run: manyFragments},
		{name: "§5.5.2 ping flood without reading", servers: []string{"echo"}, own: true, run: pingFloodCase},
		{name: "§10.4 peer that sends but never reads", servers: []string{"echo"}, own: true, run: neverReadsEcho},
		{name: "§10.4 peer that never reads while the room pushes", servers: []string{"chat"}, own: true, args: []string{"-rate", "0"}, run: neverReadsChat},
	}
}

// rssWatch samples a server's resident set size until stopped.
type rssWatch struct {
	base int64
	stop chan struct{}
	peak chan int64
}

// watchRSS records s's resident set size now as the baseline, then
// samples it every 10 ms.
func watchRSS(t *testing.T, s *instance) *rssWatch {
	t.Helper()
	base, err := s.proc.RSS()
	require.NoError(t, err)
	w := &rssWatch{base: base, stop: make(chan struct{}), peak: make(chan int64, 1)}
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		peak := base
		for {
			if n, err := s.proc.RSS(); err == nil {
				peak = max(peak, n)
			}
			select {
			case <-w.stop:
				w.peak <- peak
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() {
		w.done()
		peak := <-w.peak // the sampler has returned
		w.peak <- peak
	})
	return w
}

func (w *rssWatch) done() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
}

// check stops sampling and asserts that the peak stayed within rssBound
// of the baseline. Under the race detector it only reports: the
// detector's own memory grows with every synchronizing operation the
// server makes, whatever the server allocates.
func (w *rssWatch) check(t *testing.T) {
	t.Helper()
	w.done()
	peak := <-w.peak
	w.peak <- peak
	t.Logf("server RSS: %.1f MiB at the start, %.1f MiB at the peak", mib(w.base), mib(peak))
	if raceEnabled {
		return
	}
	assert.Less(t, peak-w.base, int64(rssBound), "the server's memory grew by %.1f MiB", mib(peak-w.base))
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// streamUntilClose writes what next returns (until it returns nil, the
// server's close frame is seen, or a write fails) while it waits for the
// server's close frame. It returns the close frame and the bytes written.
func streamUntilClose(sess *session, next func() []byte) (closeReply, int64, error) {
	seen := make(chan struct{})
	sent := make(chan int64, 1)
	go func() {
		var n int64
		for b := next(); b != nil; b = next() {
			select {
			case <-seen:
				sent <- n
				return
			default:
			}
			if err := sess.send(b); err != nil {
				break
			}
			n += int64(len(b))
		}
		sent <- n
	}()
	got, err := sess.awaitClose()
	close(seen)
	if err != nil {
		// Unblock a writer the server no longer reads for.
		sess.conn.SetWriteDeadline(time.Now())
	}
	return got, <-sent, err
}

// hugeClaim announces a binary frame of 1 TiB and streams data after it:
// the server must refuse it with 1009 from the header alone (RFC 6455
// §10.4, §7.4.1), before reading the payload.
func hugeClaim(t *testing.T, s *instance) {
	sess := open(t, s)
	first := header(0x82, 127, 0, 0, 1, 0, 0, 0, 0, 0) // 2^40
	chunk := make([]byte, 64<<10)
	var total int
	got, n, err := streamUntilClose(sess, func() []byte {
		if first != nil {
			b := first
			first = nil
			return b
		}
		if total += len(chunk); total > streamCap {
			return nil
		}
		return chunk
	})
	require.NoError(t, err, "the server's close frame, after %d bytes", n)
	assert.Equal(t, frame.CloseMessageTooBig, got.code, "close code (reason %q)", got.reason)
	t.Logf("the close frame came after %.1f MiB sent", mib(n))
	assert.Less(t, n, int64(16<<20), "the server should refuse the frame from its header, not read up to its limit")
	assert.NoError(t, sess.finish(got.code))
}

// floodSize is the number of fragments of manyFragments and of pings of
// pingFloodCase.
func floodSize() int {
	if raceEnabled {
		return 1 << 18 // the race detector slows the server tenfold
	}
	return 1 << 20
}

// manyFragments sends one binary message as 2^20 one-byte fragments (RFC
// 6455 §5.4): echo, whose limit is larger, must echo it whole; chat,
// whose limit is 25600 bytes, must close with 1009. Either way the
// server's memory must not grow with the fragment count.
func manyFragments(t *testing.T, s *instance) {
	rss := watchRSS(t, s)
	sess := open(t, s)
	count := floodSize()
	const batch = 4096
	sent := 0
	next := func() []byte {
		if sent == count {
			return nil
		}
		var b []byte
		for ; sent < count && len(b) < batch*7; sent++ {
			op := frame.OpContinuation
			if sent == 0 {
				op = frame.OpBinary
			}
			b = rawws.AppendFrame(b, sent == count-1, 0, op, []byte{byte(sent % 251)}, true)
		}
		return b
	}
	if s.name == "chat" {
		got, _, err := streamUntilClose(sess, next)
		require.NoError(t, err, "the server's close frame")
		assert.Equal(t, frame.CloseMessageTooBig, got.code, "close code (reason %q)", got.reason)
		assert.NoError(t, sess.finish(got.code))
		rss.check(t)
		return
	}

	wrote := make(chan error, 1)
	go func() {
		var err error
		for b := next(); b != nil && err == nil; b = next() {
			err = sess.send(b)
		}
		wrote <- err
	}()
	// Read the echo as it streams back, checking every byte.
	got, first := 0, true
	var err error
	for err == nil {
		var h frame.Header
		if h, err = rawws.ReadHeader(sess.br); err != nil {
			break
		}
		switch {
		case h.Opcode == frame.OpClose:
			err = fmt.Errorf("close frame after %d bytes of the echo", got)
		case first && h.Opcode != frame.OpBinary, !first && h.Opcode != frame.OpContinuation:
			err = fmt.Errorf("%v frame at byte %d of the echo", h.Opcode, got)
		}
		if err != nil {
			break
		}
		first = false
		p := make([]byte, h.Length)
		if _, err = io.ReadFull(sess.br, p); err != nil {
			break
		}
		for i, b := range p {
			if b != byte((got+i)%251) {
				err = fmt.Errorf("byte %d of the echo is %#x, want %#x", got+i, b, byte((got+i)%251))
				break
			}
		}
		got += len(p)
		if h.Fin {
			break
		}
	}
	if err != nil {
		sess.conn.Close() // unblock the writer
	}
	werr := <-wrote
	require.NoError(t, err)
	require.NoError(t, werr)
	assert.Equal(t, count, got, "bytes echoed")
	require.NoError(t, sess.send(masked(true, 0, frame.OpClose, "\x03\xe8")))
	reply, err := sess.awaitClose()
	require.NoError(t, err)
	assert.Equal(t, frame.CloseNormal, reply.code)
	assert.NoError(t, sess.awaitEnd(endWait))
	rss.check(t)
}

// pingFloodCase sends floodSize pings without reading, over a socket with
// a small receive buffer so that the pongs back up, then a message and
// a close. The server may answer only the latest ping it has not
// answered (RFC 6455 §5.5.3), so its memory must stay bounded; the pongs
// that come must be in order, the last ping must be answered, and the
// message must still be echoed.
func pingFloodCase(t *testing.T, s *instance) {
	rss := watchRSS(t, s)
	sess := dialSmall(t, s, s.path)
	pingFlood := floodSize()
	wrote := make(chan error, 1)
	go func() {
		var b []byte
		var err error
		for i := 0; i < pingFlood && err == nil; i++ {
			b = rawws.AppendFrame(b, true, 0, frame.OpPing, binary.BigEndian.AppendUint64(nil, uint64(i)), true)
			if len(b) >= 32<<10 || i == pingFlood-1 {
				err = sess.send(b)
				b = b[:0]
			}
		}
		if err == nil {
			err = sess.send(concat(masked(true, 0, frame.OpText, "after the flood"), masked(true, 0, frame.OpClose, "\x03\xe8")))
		}
		wrote <- err
	}()
	// Read nothing until the flood is out, or has stalled for lack of
	// reading: that is the attack.
	var werr error
	stalled := false
	select {
	case werr = <-wrote:
	case <-time.After(2 * time.Second):
		stalled = true
	}
	rss.check(t)
	pongs, last, msg, err := readPongs(sess)
	if err != nil {
		sess.conn.Close() // unblock the writer
	}
	if stalled {
		werr = <-wrote
	}
	require.NoError(t, err)
	require.NoError(t, werr)
	t.Logf("%d pings answered with %d pongs (writing stalled: %v)", pingFlood, pongs, stalled)
	assert.Equal(t, int64(pingFlood-1), last, "the last ping must be answered")
	assert.Equal(t, "after the flood", msg)
	assert.NoError(t, sess.awaitEnd(endWait))
}

// readPongs reads what follows a ping flood: pongs, whose payloads must
// rise, then the echoed message and the close frame that answers the
// client's (code 1000). It returns the count of pongs, the last pong's
// number and the message.
func readPongs(sess *session) (pongs int, last int64, msg string, err error) {
	last = -1
	for {
		var h frame.Header
		if h, err = rawws.ReadHeader(sess.br); err != nil {
			return
		}
		p := make([]byte, h.Length)
		if _, err = io.ReadFull(sess.br, p); err != nil {
			return
		}
		switch h.Opcode {
		case frame.OpClose:
			var code frame.CloseCode
			if code, _, err = frame.ParseClose(p); err == nil && code != frame.CloseNormal {
				err = fmt.Errorf("close code %v, want %v", code, frame.CloseNormal)
			}
			return
		case frame.OpPong:
			if len(p) != 8 {
				return pongs, last, msg, fmt.Errorf("pong payload %x is not a ping's", p)
			}
			n := int64(binary.BigEndian.Uint64(p))
			switch {
			case n <= last:
				return pongs, last, msg, fmt.Errorf("pong %d after pong %d", n, last)
			case msg != "":
				return pongs, last, msg, fmt.Errorf("pong %d after the message that followed the flood", n)
			}
			last = n
			pongs++
		case frame.OpText:
			msg = string(p)
		default:
			return pongs, last, msg, fmt.Errorf("unexpected %v frame", h.Opcode)
		}
	}
}

// dialSmall opens a connection with small socket buffers, so that a
// client that does not read pushes back on the server soon.
func dialSmall(t *testing.T, s *instance, path string) *session {
	t.Helper()
	d := net.Dialer{Timeout: caseTimeout, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10)
		})
		return errors.Join(err, serr)
	}}
	conn, err := d.Dial("tcp", s.proc.Addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(caseTimeout))
	br, err := rawws.Handshake(conn, s.proc.Addr, path, s.extra)
	require.NoError(t, err, "handshake")
	return &session{conn, br}
}

// neverReadsEcho sends message after message and reads nothing: the
// echo server must stop reading once its replies back up (TCP flow
// control), so the client's writes stall and the server's memory stays
// bounded.
func neverReadsEcho(t *testing.T, s *instance) {
	rss := watchRSS(t, s)
	sess := dialSmall(t, s, s.path)
	msg := rawws.AppendFrame(nil, true, 0, frame.OpBinary, make([]byte, 64<<10), true)
	var sent int64
	var err error
	for sent < streamCap {
		sess.conn.SetWriteDeadline(time.Now().Add(time.Second))
		var n int
		n, err = sess.conn.Write(msg)
		sent += int64(n)
		if err != nil {
			break
		}
	}
	t.Logf("writing stalled after %.1f MiB", mib(sent))
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "writes should stall for want of reading, not fail, after %.1f MiB", mib(sent))
	rss.check(t)
	sess.reset()
}

// neverReadsChat joins the room with a client that never reads while
// another fills the room with messages: the room must drop the sleeper as
// too slow (a "leave" with reason "too slow" to everyone else), keep its
// memory bounded, and end the sleeper's TCP connection.
func neverReadsChat(t *testing.T, s *instance) {
	rss := watchRSS(t, s)
	sleeper := dialSmall(t, s, s.path+"?name=sleeper")
	ctx, cancel := context.WithTimeout(t.Context(), caseTimeout)
	defer cancel()
	talker, _, err := ws.Dial(ctx, s.url()+"?name=talker", nil)
	require.NoError(t, err)
	defer talker.CloseNow()
	// The talker keeps at most window of its messages unheard, so that
	// it is not too slow itself.
	const window = 16
	credit := make(chan struct{}, window)
	for range window {
		credit <- struct{}{}
	}
	text := strings.Repeat("z", 4000)
	dropped := make(chan string, 1)
	read := make(chan error, 1)
	readerDone := make(chan struct{})
	defer func() {
		talker.CloseNow()
		<-readerDone
	}()
	go func() {
		defer close(readerDone)
		for {
			var ev chatEvent
			if err := readChat(ctx, talker, &ev); err != nil {
				read <- err
				return
			}
			switch {
			case ev.Type == "message" && ev.Name == "talker":
				credit <- struct{}{}
			case ev.Type == "leave" && ev.Name == "sleeper":
				dropped <- ev.Reason
			}
		}
	}()
	cmd, _ := json.Marshal(map[string]string{"type": "send", "text": text})
	sent := 0
	var reason string
talk:
	for {
		select {
		case reason = <-dropped:
			break talk
		case err := <-read:
			t.Fatalf("the talker's connection failed after %d messages: %v", sent, err)
		case <-ctx.Done():
			t.Fatalf("the room did not drop the client that never reads, after %d messages", sent)
		case <-credit:
			require.NoError(t, talker.Write(ctx, ws.MessageText, cmd))
			sent++
		}
	}
	assert.Equal(t, "too slow", reason)
	t.Logf("the sleeper was dropped after %d messages of 4000 bytes", sent)
	rss.check(t)

	// What the sleeper finds when it reads at last: its backlog, then
	// 1013 (try again later) or the end of the connection.
	got, err := sleeper.awaitClose()
	if err == nil {
		assert.Equal(t, frame.CloseTryAgainLater, got.code, "close code (reason %q)", got.reason)
		assert.NoError(t, sleeper.finish(got.code))
	} else {
		assert.True(t, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET), "the sleeper's connection should end: %v", err)
	}
	assert.NoError(t, talker.Close(ws.StatusNormalClosure, ""))
	assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(<-read), "the talker's read loop")
}
