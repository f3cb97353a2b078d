package ws

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero fields of QueueOptions.
const (
	// DefaultQueueBytes bounds the payload bytes a Queue holds: 1 MiB.
	DefaultQueueBytes = 1 << 20
	// DefaultQueueMessages bounds the messages a Queue holds.
	DefaultQueueMessages = 1024
	// DefaultQueueWriteTimeout bounds one write from a Queue.
	DefaultQueueWriteTimeout = 10 * time.Second
	// DefaultQueueCloseReason is the reason sent with
	// StatusTryAgainLater when a Queue gives up on a slow peer.
	DefaultQueueCloseReason = "too slow"
)

var (
	// ErrQueueFull is returned by a Queue's Send when the message does
	// not fit and the policy is QueueDrop or QueueClose; after
	// QueueClose, it is also the queue's Err.
	ErrQueueFull = errors.New("ws: send queue full")
	// ErrQueueClosed is returned by a Queue's Send after Close, and is
	// then the queue's Err.
	ErrQueueClosed = errors.New("ws: send queue closed")
)

// QueuePolicy says what a Queue does with a message that does not fit.
type QueuePolicy int

const (
	// QueueBlock makes Send wait for room, until its context ends. No
	// message is lost, but a slow peer holds up the sender: a broadcast
	// wants one of the other policies.
	QueueBlock QueuePolicy = iota
	// QueueDrop makes Send drop the message, count it (see
	// Queue.Dropped) and return ErrQueueFull. The connection goes on.
	QueueDrop
	// QueueClose makes Send give up on the peer as too slow: the queue
	// stops, discards what it holds, finishes the message being written
	// and closes the connection with QueueOptions.CloseCode. Send
	// returns ErrQueueFull.
	QueueClose
)

func (p QueuePolicy) String() string {
	switch p {
	case QueueBlock:
		return "block"
	case QueueDrop:
		return "drop"
	case QueueClose:
		return "close"
	}
	return "QueuePolicy(" + strconv.Itoa(int(p)) + ")"
}

// QueueOptions configures NewQueue. The zero value of each field means
// the documented default.
type QueueOptions struct {
	// MaxBytes bounds the payload bytes held: queued, or being written.
	// Zero means DefaultQueueBytes. A message larger than MaxBytes is
	// taken only when the queue is empty, so that it can be sent at all;
	// Buffered then exceeds MaxBytes by that one message.
	MaxBytes int
	// MaxMessages bounds the messages held, whatever their size, so that
	// empty messages cannot grow the queue without bound either. Zero
	// means DefaultQueueMessages.
	MaxMessages int
	// Policy says what Send does with a message that does not fit. The
	// zero value is QueueBlock.
	Policy QueuePolicy
	// WriteTimeout bounds each write: one message, or the run of small
	// ones that go out together. A peer that takes longer to accept it is
	// too slow: the queue stops and closes the connection with
	// CloseCode, whatever the Policy. Zero means
	// DefaultQueueWriteTimeout; negative means no bound, so that a peer
	// that stops reading holds the queue's goroutine until the
	// connection is closed.
	WriteTimeout time.Duration
	// CloseCode and CloseReason are the close frame's code and reason when
	// the queue gives up on a slow peer. A zero CloseCode means
	// StatusTryAgainLater (1013) with DefaultQueueCloseReason when
	// CloseReason is empty.
	CloseCode   StatusCode
	CloseReason string
}

// A Queue sends messages on a Conn without making the sender wait for the
// peer, as a broadcast needs: Send copies the message into a queue bounded
// in bytes and messages, and one goroutine writes the queue out in order,
// the messages waiting behind one another together in one write per
// buffer-full (Config.WriteBufferSize), not one write each.
// What happens when the queue is full is the Policy's choice: the sender
// waits, the message is dropped, or the connection is closed. A
// *PreparedMessage is queued without a copy, so a broadcast encodes each
// message once for all its queues.
//
// The goroutine runs only while the queue holds messages, so an idle
// Queue costs none, and it ends when the queue stops: after Close, when
// the peer is too slow, or when the connection fails or is closed (by
// either end). Done reports that moment; Err says why.
//
// A Queue is safe for concurrent use. Messages sent by one goroutine are
// written in the order sent. Other goroutines may still write to the Conn
// directly: their messages go out whole, between the queue's.
type Queue struct {
	c       *Conn
	opts    QueueOptions
	dropped atomic.Int64

	mu        sync.Mutex
	items     []queued // waiting, oldest first, from items[head]
	head      int
	writing   int           // messages the goroutine took and is writing
	bytes     int           // payload bytes waiting or being written
	running   bool          // the goroutine runs
	err       error         // why the queue stopped; nil while it runs
	closeConn bool          // the goroutine closes the connection as it ends
	room      chan struct{} // closed when a message leaves, if waited on
	done      chan struct{} // closed when stopped and the goroutine ended
}

// queued is one message in a Queue: a payload the queue owns, or a
// prepared message.
type queued struct {
	typ MessageType
	p   []byte
	pm  *PreparedMessage
}

func (m queued) size() int {
	if m.pm != nil {
		return len(m.pm.data)
	}
	return len(m.p)
}

// NewQueue returns a Queue that sends on c. opts may be nil (the
// defaults). NewQueue starts no goroutine; the first Send does.
func NewQueue(c *Conn, opts *QueueOptions) *Queue {
	q := &Queue{c: c, done: make(chan struct{})}
	if opts != nil {
		q.opts = *opts
	}
	o := &q.opts
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultQueueBytes
	}
	if o.MaxMessages <= 0 {
		o.MaxMessages = DefaultQueueMessages
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = DefaultQueueWriteTimeout
	}
	if o.CloseCode == 0 {
		o.CloseCode = StatusTryAgainLater
		if o.CloseReason == "" {
			o.CloseReason = DefaultQueueCloseReason
		}
	}
	if !c.onClose.add(q, q.connClosed) {
		q.stopLocked(errClosed, false)
	}
	return q
}

// Send queues a message of type typ with a copy of p, and returns
// without waiting for it to be written, unless the queue is full and the
// policy is QueueBlock: then Send waits until there is room or ctx ends,
// and returns ctx.Err() in that case. A message that does not fit under
// the other policies is dropped or closes the connection, and Send
// returns ErrQueueFull. Once the queue has stopped, Send returns Err; if
// the connection is closed, an error that satisfies
// errors.Is(err, net.ErrClosed).
//
// A nil error means the message was queued, not that it was delivered:
// one the queue holds when it stops is discarded.
func (q *Queue) Send(ctx context.Context, typ MessageType, p []byte) error {
	if _, ok := typ.opcode(); !ok {
		return errBadType
	}
	return q.enqueue(ctx, queued{typ: typ, p: append([]byte(nil), p...)})
}

// SendPrepared queues pm, without copying it, as Send queues a message.
func (q *Queue) SendPrepared(ctx context.Context, pm *PreparedMessage) error {
	if pm == nil {
		return errNilPrepared
	}
	return q.enqueue(ctx, queued{pm: pm})
}

func (q *Queue) enqueue(ctx context.Context, m queued) error {
	n := m.size()
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		switch {
		case q.err != nil:
			return q.err
		case q.c.isClosed():
			return errClosed
		case q.fitsLocked(n):
			q.items = append(q.items, m)
			q.bytes += n
			if !q.running {
				q.running = true
				go q.run()
			}
			return nil
		case q.opts.Policy == QueueDrop:
			q.dropped.Add(1)
			return ErrQueueFull
		case q.opts.Policy == QueueClose:
			q.stopLocked(ErrQueueFull, true)
			return ErrQueueFull
		}
		if err := q.waitLocked(ctx); err != nil {
			return err
		}
	}
}

// fitsLocked reports whether a message of n bytes fits.
func (q *Queue) fitsLocked(n int) bool {
	held := len(q.items) - q.head + q.writing
	if held == 0 {
		return true
	}
	return held < q.opts.MaxMessages && q.bytes+n <= q.opts.MaxBytes
}

// waitLocked waits until a message leaves the queue, the queue stops or
// the connection closes, and returns nil then, or ctx.Err() if ctx ends
// first. The caller holds mu; waitLocked releases it while it waits.
func (q *Queue) waitLocked(ctx context.Context) error {
	if q.room == nil {
		q.room = make(chan struct{})
	}
	room := q.room
	q.mu.Unlock()
	defer q.mu.Lock()
	select {
	case <-room:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-q.c.closed:
		return nil
	}
}

// wakeLocked wakes the Sends and Flushes that wait for room.
func (q *Queue) wakeLocked() {
	if q.room != nil {
		close(q.room)
		q.room = nil
	}
}

// run is the queue's goroutine: it writes messages until the queue is
// empty or stops.
func (q *Queue) run() {
	for {
		q.mu.Lock()
		if q.err == nil && q.c.isClosed() {
			// connClosed found this goroutine running and left the
			// stop to it: without this, a close that lands during the
			// last write would leave Done open for ever.
			q.stopLocked(errClosed, false)
		}
		if q.err != nil || q.head == len(q.items) {
			q.running = false
			stopped, closeConn := q.err != nil, q.closeConn
			q.mu.Unlock()
			if closeConn {
				q.c.Close(q.opts.CloseCode, q.opts.CloseReason)
			}
			if stopped {
				close(q.done)
			}
			return
		}
		q.mu.Unlock()
		q.writeRun()
	}
}

// A queueWrite is one message of a Queue's run (see Queue.writeRun), for
// Conn.send.
type queueWrite struct {
	more  bool // another message follows: keep this one's frame in the buffer if it fits
	wrote bool // set by send once a frame went out rather than into the buffer
}

// writeRun writes the waiting messages, in order, under one hold of the
// connection's write and frame locks. While another message follows, each
// is kept in the write buffer if it fits (frame.Writer.Hold), so a burst
// leaves in one write per buffer-full rather than one per message. The
// run ends after its first write, so that pongs, Close and other writers
// wait for no more than one write.
//
// Over a transport with deadlines (every net.Conn), WriteTimeout is a
// write deadline set for the run, which costs no allocation; otherwise it
// is a context.
func (q *Queue) writeRun() {
	c, timeout := q.c, q.opts.WriteTimeout
	ctx := context.Background()
	deadline := timeout > 0 && c.dl != nil && c.tryLockWrites()
	var err error
	if !deadline {
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		err = c.lockWrites(ctx)
	}
	taken := 0
	if err == nil {
		taken, err = q.writeLocked(ctx, deadline)
	}

	q.mu.Lock()
	defer q.mu.Unlock()
	q.writing = 0
	q.bytes -= taken
	q.wakeLocked()
	if err != nil {
		timedOut := ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded)
		if timedOut {
			if !errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
			}
			err = fmt.Errorf("ws: queue: peer took over %v to take a message: %w", timeout, err)
		}
		q.stopLocked(err, timedOut && !c.isClosed())
	}
}

// writeLocked is writeRun's part under the connection's locks, which it
// gives up. It returns the payload bytes it took from the queue.
func (q *Queue) writeLocked(ctx context.Context, deadline bool) (taken int, err error) {
	c := q.c
	if deadline {
		c.dl.SetWriteDeadline(time.Now().Add(q.opts.WriteTimeout))
	}
	var qw queueWrite
	q.mu.Lock()
	for err == nil && !qw.wrote && q.err == nil && q.head < len(q.items) {
		m := q.pop()
		q.writing++
		taken += m.size()
		qw.more = q.head < len(q.items)
		q.mu.Unlock()
		err = c.writeQueued(ctx, m, &qw)
		q.mu.Lock()
	}
	q.mu.Unlock()
	if err == nil && c.fw.Held() > 0 {
		// The queue stopped behind a message it kept: that message
		// goes out as one being written.
		c.flushHeld(ctx)
	}
	if err == nil && c.pongDue.Load() {
		c.flushPong(ctx) // within the deadline too
	}
	if deadline {
		c.dl.SetWriteDeadline(time.Time{})
	}
	c.releaseFrame(ctx)
	<-c.writeSem
	return taken, err
}

// tryLockWrites takes the write and frame locks if both are free at once.
func (c *Conn) tryLockWrites() bool {
	select {
	case c.writeSem <- struct{}{}:
	default:
		return false
	}
	select {
	case c.frameSem <- struct{}{}:
		return true
	default:
		<-c.writeSem
		return false
	}
}

// lockWrites takes the write and frame locks, giving up when ctx is done
// or the connection closes.
func (c *Conn) lockWrites(ctx context.Context) error {
	if err := c.acquire(ctx, c.writeSem); err != nil {
		return err
	}
	if err := c.acquire(ctx, c.frameSem); err != nil {
		<-c.writeSem
		return err
	}
	return nil
}

// pop takes the oldest message. The caller holds mu.
func (q *Queue) pop() queued {
	m := q.items[q.head]
	q.items[q.head] = queued{}
	q.head++
	switch {
	case q.head == len(q.items) && cap(q.items) > 64:
		// Give back what a burst grew, so an idle queue holds little.
		q.items, q.head = nil, 0
	case q.head == len(q.items):
		q.items, q.head = q.items[:0], 0
	case q.head >= 32 && 2*q.head >= len(q.items):
		// Slide the waiting messages down, so that a queue that never
		// empties does not grow its slice without bound.
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return m
}

// writeQueued writes m for a Queue's run, as Write or WritePrepared
// would; the caller holds the write and frame locks.
func (c *Conn) writeQueued(ctx context.Context, m queued, qw *queueWrite) error {
	if m.pm != nil {
		err := c.writePrepared(ctx, m.pm, qw)
		c.stats.wrote(len(m.pm.data), true, err)
		return err
	}
	op, _ := m.typ.opcode()
	err := c.writeMessage(ctx, op, m.p, qw)
	c.stats.wrote(len(m.p), true, err)
	return err
}

// stopLocked stops the queue for err, discarding what waits; closeConn
// has the goroutine close the connection as too slow once the message it
// writes, if any, is out. The caller holds mu.
func (q *Queue) stopLocked(err error, closeConn bool) {
	if q.err != nil {
		return
	}
	q.err, q.closeConn = err, closeConn
	for _, m := range q.items[q.head:] {
		q.bytes -= m.size()
	}
	q.items, q.head = nil, 0
	q.wakeLocked()
	switch {
	case q.running:
		// The goroutine ends, and closes done, after its write.
	case closeConn:
		q.running = true
		go q.run()
	default:
		close(q.done)
	}
}

// connClosed stops the queue when its connection closes. A running
// goroutine finds out from its write, and says why, or, if its write
// succeeded before the close, from the check at the top of its loop.
func (q *Queue) connClosed() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.running {
		q.stopLocked(errClosed, false)
	}
}

// Flush waits until the queue is empty: every message queued has been
// written. It returns nil then, Err if the queue stops first, or
// ctx.Err() if ctx ends first. Messages sent while Flush waits are
// waited for too.
func (q *Queue) Flush(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.err != nil {
			return q.err
		}
		if q.head == len(q.items) && q.writing == 0 {
			return nil
		}
		if q.c.isClosed() {
			return errClosed
		}
		if err := q.waitLocked(ctx); err != nil {
			return err
		}
	}
}

// Close stops the queue: Send returns ErrQueueClosed from now on, and the
// messages waiting are discarded. The messages being written are
// finished, within WriteTimeout. Close leaves the connection open and does not
// wait: Done is closed when the queue's goroutine has ended. Call Flush
// first to send what is queued. Closing a stopped queue does nothing.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stopLocked(ErrQueueClosed, false)
}

// Done returns a channel that is closed when the queue has stopped and its
// goroutine has ended, including any closing handshake it performed.
func (q *Queue) Done() <-chan struct{} { return q.done }

// Err returns nil while the queue runs, and then why it stopped:
// ErrQueueClosed after Close; ErrQueueFull after it gave up on a slow
// peer under QueueClose; an error that wraps context.DeadlineExceeded
// after a write took longer than WriteTimeout; or the error of the write
// that failed, or one that satisfies errors.Is(err, net.ErrClosed) if
// the connection was closed.
func (q *Queue) Err() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// Buffered returns the payload bytes the queue holds: waiting, or being
// written.
func (q *Queue) Buffered() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes
}

// Dropped returns how many messages Send has dropped under QueueDrop.
func (q *Queue) Dropped() int64 { return q.dropped.Load() }
