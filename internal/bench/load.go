package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// An echoLoad drives echo connections to one server: each connection
// keeps window messages of one size in flight, and counts the replies.
type echoLoad struct {
	t      target
	size   int
	window int  // 1 for ping-pong
	verify bool // compare every reply with what was sent, not just the first

	// The load sends n different messages in turn (one unless
	// compressed). seq holds their masked frames in that order, then
	// again up to n+window frames, so that any window of frames from any
	// starting message is one slice, written together when credits
	// allow; offs are the frames' offsets in seq.
	n     int
	seq   []byte
	offs  []int
	wants [][]byte // each message's payload, or for a raw target its frame
	comp  bool     // frames are compressed text, and replies are counted whole

	conns []*loadConn
	wg    sync.WaitGroup
	stop  chan struct{}
	ended atomic.Bool

	errOnce sync.Once
	err     error
	errs    atomic.Int64
}

type loadConn struct {
	conn *net.TCPConn
	br   *bufio.Reader
	// echoed counts reply payload bytes (whole frames for a raw target)
	// as they arrive: a 1 MiB reply counts while it streams in, so a
	// short window over many connections does not see replies land in
	// lumps.
	echoed atomic.Int64
	// wire counts reply payload bytes as sent, compressed or not, when
	// the load is compressed.
	wire atomic.Int64
	hist []byte   // what the server compressed before, to verify context takeover
	_    [40]byte // keep counters of different connections off one cache line
}

// newEchoLoad prepares frames for size and window.
func newEchoLoad(t target, size, window int, verify bool) *echoLoad {
	l := &echoLoad{t: t, size: size, window: window, verify: verify, stop: make(chan struct{})}
	var frames [][]byte
	if t.comp != compNone {
		l.comp = true
		for i := range compVariants(size) {
			p := jsonPayload(size, i)
			l.wants = append(l.wants, p)
			frames = append(frames, compressedClientFrame(deflateMessage(p)))
		}
	} else {
		p := payload(size)
		f := clientFrame(p)
		frames = [][]byte{f}
		if t.raw {
			p = f
		}
		l.wants = [][]byte{p}
	}
	l.n = len(frames)
	l.offs = []int{0}
	for i := range l.n + window {
		l.seq = append(l.seq, frames[i%l.n]...)
		l.offs = append(l.offs, len(l.seq))
	}
	return l
}

// connect opens n connections, at most 64 handshakes at a time.
func (l *echoLoad) connect(ctx context.Context, n int) error {
	conns, err := dialMany(ctx, l.t, "/", n, 32<<10)
	if err != nil {
		return err
	}
	for _, c := range conns {
		l.conns = append(l.conns, &loadConn{conn: c.conn, br: c.br})
	}
	return nil
}

// soloFrame is the largest frame a connection writes and then reads back
// from one goroutine. Past it, a server that streams its reply (as ours
// does) fills the socket buffers before the client has finished writing,
// and both would wait on each other; a reader goroutine drains the reply
// while the frame is being written.
const soloFrame = 64 << 10

// start sets every connection sending.
func (l *echoLoad) start() {
	for _, c := range l.conns {
		if l.window == 1 && l.offs[1] <= soloFrame {
			l.wg.Add(1)
			go l.pingPong(c)
			continue
		}
		credits := make(chan struct{}, l.window)
		for range l.window {
			credits <- struct{}{}
		}
		l.wg.Add(2)
		go l.send(c, credits)
		go l.receive(c, credits)
	}
}

// frames returns k frames back to back, from message i on.
func (l *echoLoad) frames(i, k int) []byte {
	i %= l.n
	return l.seq[l.offs[i]:l.offs[i+k]]
}

// echoed returns the reply bytes received so far.
func (l *echoLoad) echoed() int64 {
	var n int64
	for _, c := range l.conns {
		n += c.echoed.Load()
	}
	return n
}

// unit is the size of one reply as echoed counts it.
func (l *echoLoad) unit() int { return len(l.wants[0]) }

// wire returns the reply payload bytes received so far as sent, for a
// compressed load.
func (l *echoLoad) wire() int64 {
	var n int64
	for _, c := range l.conns {
		n += c.wire.Load()
	}
	return n
}

// failed reports the first error before close, if any.
func (l *echoLoad) failed() error {
	if l.errs.Load() == 0 {
		return nil
	}
	return l.err
}

// close stops the load, resets every connection and waits, within
// limits, for its goroutines.
func (l *echoLoad) close() error {
	l.ended.Store(true)
	close(l.stop)
	for _, c := range l.conns {
		c.conn.Close()
	}
	done := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s: load goroutines still running 10s after close", l.t.name)
	}
}

func (l *echoLoad) fail(err error) {
	if l.ended.Load() {
		return // the connections were closed under it
	}
	l.errOnce.Do(func() { l.err = fmt.Errorf("%s: %w", l.t.name, err) })
	l.errs.Add(1)
}

func (l *echoLoad) pingPong(c *loadConn) {
	defer l.wg.Done()
	var keep []byte
	for i := 0; !l.ended.Load(); i++ {
		if _, err := c.conn.Write(l.frames(i, 1)); err != nil {
			l.fail(err)
			return
		}
		if err := l.reply(c, &keep, i, i == 0 || l.verify); err != nil {
			l.fail(err)
			return
		}
	}
}

func (l *echoLoad) send(c *loadConn, credits chan struct{}) {
	defer l.wg.Done()
	for next := 0; ; {
		select {
		case <-credits:
		case <-l.stop:
			return
		}
		k := 1
	more:
		for k < l.window {
			select {
			case <-credits:
				k++
			default:
				break more
			}
		}
		if _, err := c.conn.Write(l.frames(next, k)); err != nil {
			l.fail(err)
			return
		}
		next = (next + k) % l.n
	}
}

func (l *echoLoad) receive(c *loadConn, credits chan struct{}) {
	defer l.wg.Done()
	var keep []byte
	for i := 0; ; i++ {
		if err := l.reply(c, &keep, i, i == 0 || l.verify); err != nil {
			l.fail(err)
			return
		}
		credits <- struct{}{}
	}
}

// reply reads the reply to message i and checks its length, and its
// bytes if check.
func (l *echoLoad) reply(c *loadConn, keep *[]byte, i int, check bool) error {
	want := l.wants[i%l.n]
	var k *[]byte
	if check {
		*keep = (*keep)[:0]
		k = keep
	}
	if l.t.raw {
		if check {
			*keep = append(*keep, make([]byte, len(want))...)
			if _, err := io.ReadFull(c.br, *keep); err != nil {
				return err
			}
			c.echoed.Add(int64(len(*keep)))
		} else if err := discard(c.br, len(want), &c.echoed); err != nil {
			return err
		}
	} else if l.comp {
		// Compressed replies are counted whole, as the payload they
		// carry, and inflated only to be checked.
		n, compressed, err := readFrames(c.br, k, nil, true)
		if err != nil {
			return err
		}
		c.wire.Add(int64(n))
		c.echoed.Add(int64(l.size))
		if check && compressed {
			var hist *[]byte
			if l.t.comp == compTakeover {
				hist = &c.hist
			}
			p, err := inflateMessage(*keep, hist)
			if err != nil {
				return err
			}
			*keep = append((*keep)[:0], p...)
		}
	} else {
		n, err := readMessage(c.br, k, &c.echoed)
		if err != nil {
			return err
		}
		if n != l.size {
			return fmt.Errorf("reply of %d bytes to a message of %d", n, l.size)
		}
	}
	if check && !bytes.Equal(*keep, want) {
		return fmt.Errorf("reply differs from the %d-byte message sent", l.size)
	}
	return nil
}

// A dialed connection, past its handshake.
type dialed struct {
	conn *net.TCPConn
	br   *bufio.Reader
}

// dialMany opens n connections to path on t, at most 64 at a time. On
// error it closes those it opened.
func dialMany(ctx context.Context, t target, path string, n, bufSize int) ([]dialed, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req := request(t, path)
	out := make([]dialed, n)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	var errOnce sync.Once
	var firstErr error
	for range min(n, 64) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				conn, br, err := dial(ctx, t, req, bufSize)
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("%s: dial %d of %d: %w", t.name, i+1, n, err) })
					cancel()
					return
				}
				out[i] = dialed{conn, br}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		for _, d := range out {
			if d.conn != nil {
				d.conn.Close()
			}
		}
		return nil, firstErr
	}
	return out, nil
}
