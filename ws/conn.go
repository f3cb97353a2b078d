package ws

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ab7c482b/websocket/frame"
	"github.com/ab7c482b/websocket/handshake"
)

// Defaults for the zero fields of Config.
const (
	// DefaultReadLimit bounds one incoming message: 16 MiB, enough for
	// Autobahn's largest cases and far below what a server can afford per
	// connection.
	DefaultReadLimit = 16 << 20
	// DefaultBufferSize is the size of the write buffer, and of the read
	// buffer of a connection that gives it back between messages (see
	// Config.ReadBufferSize). Each is in use only while the connection
	// reads or writes, so a large one costs an idle connection nothing
	// and lets a burst of messages through in few system calls.
	DefaultBufferSize = 16 << 10
	// DefaultHeldBufferSize is the size of the read buffer of a
	// connection that holds it for its whole life.
	DefaultHeldBufferSize = 4 << 10
	// DefaultCloseTimeout bounds the closing handshake.
	DefaultCloseTimeout = 5 * time.Second
)

// Config holds the settings a connection keeps after its handshake. The
// zero value of each field means the documented default, so the zero
// Config is ready to use. Accept, Dial and NewConn copy it.
type Config struct {
	// ReadLimit bounds the payload of one incoming message in bytes,
	// across all its fragments. A larger message fails the connection
	// with StatusMessageTooBig (1009) before its payload is read. Zero
	// means DefaultReadLimit; negative means no limit, which lets a peer
	// make Read allocate without bound.
	ReadLimit int64
	// MaxFragments bounds the frames of one incoming message; a message
	// with more fails the connection with StatusPolicyViolation. Zero
	// means no limit: memory does not grow with the fragment count, only
	// the time to read a message does.
	MaxFragments int
	// ReadBufferSize and WriteBufferSize size the connection's buffers.
	// Write buffers come from a pool while a frame or message is written.
	// A connection directly over a *net.TCPConn or *net.UnixConn (on
	// Linux) gives its read buffer back to a pool between messages, when
	// it has read all it was sent; any other holds it for its whole life.
	// Zero means DefaultBufferSize, or DefaultHeldBufferSize for a read
	// buffer that is held.
	ReadBufferSize, WriteBufferSize int
	// CloseTimeout bounds how long Close waits for the peer's close
	// frame. Zero means DefaultCloseTimeout.
	CloseTimeout time.Duration
	// PingInterval, when positive, turns on keepalive: the connection
	// sends a ping after each interval, and if no pong answers within
	// PongTimeout it closes the transport without a closing handshake;
	// Read then returns a *CloseError with StatusAbnormalClosure that
	// wraps ErrPongTimeout. Pongs are only seen while some goroutine
	// reads, as with Ping.
	PingInterval time.Duration
	// PongTimeout bounds the wait for a keepalive pong. Zero means
	// PingInterval.
	PongTimeout time.Duration
	// OnPing, if set, is called with the payload of each ping received,
	// from the reading goroutine, before the pong is queued. The payload
	// is only valid during the call.
	OnPing func(payload []byte)
	// OnPong, if set, is called with the payload of each pong received,
	// from the reading goroutine. The payload is only valid during the
	// call.
	OnPong func(payload []byte)

	// Compression selects how Dial offers and Accept accepts
	// permessage-deflate (RFC 7692). The zero value,
	// CompressionNoContextTakeover, compresses each message on its own
	// and keeps no compressor state on an idle connection. Either end
	// may decline: the connection is then uncompressed.
	Compression CompressionMode
	// CompressionThreshold is the size in bytes below which a message is
	// sent uncompressed. Zero means DefaultCompressionThreshold; negative
	// compresses every message.
	CompressionThreshold int
	// CompressionLevel is the compress/flate level for outgoing
	// messages, from flate.HuffmanOnly (-2) to flate.BestCompression
	// (9). Zero means flate.BestSpeed, or with context takeover level 2:
	// BestSpeed's output never refers back to earlier messages, so it
	// would keep a dictionary for nothing.
	CompressionLevel int
}

// ConnOptions configures NewConn.
type ConnOptions struct {
	Config
	// Client is true when this end is the client, whose frames are
	// masked, and false on a server (RFC 6455 §5.1).
	Client bool
	// Subprotocol is the one the handshake agreed, for Conn.Subprotocol.
	Subprotocol string
	// Reader, if non-nil, is a buffered reader over the stream that may
	// already hold bytes the peer sent after its handshake; the Conn reads
	// through it so none are lost.
	Reader *bufio.Reader
	// Extensions are those the handshake agreed, as in its response. If
	// they include permessage-deflate, the Conn compresses as they say
	// (within Config.Compression); an entry this package cannot honour is
	// ignored, so the peer's compressed messages then fail the connection.
	Extensions []handshake.Extension

	flusher *readFlusher // what Reader reads through, if Accept or Dial made it
}

// A Conn is a WebSocket connection past its opening handshake.
//
// A Conn is safe for concurrent use with these rules: any number of
// goroutines may call Write, Writer, Ping and Close at once (messages are
// written whole, never interleaved, and control frames may go out between
// the frames of a message); at most one goroutine reads at a time (Read,
// Reader and the reader it returns); Close and CloseNow may be called from
// any goroutine at any time, and unblock every other call.
type Conn struct {
	rwc   io.ReadWriteCloser
	dl    deadliner // rwc's deadlines, or nil
	proto string
	cfg   Config

	// Reading. readSem is held by the goroutine that reads frames.
	readSem  chan struct{}
	br       *bufio.Reader
	mr       frame.MessageReader
	msg      messageReader
	client   bool // (here, beside other bools, to keep Conn small)
	text     bool // the open message is text: validate its UTF-8
	midRead  bool // partial holds a started message
	utf8     frame.UTF8
	partial  []byte // a message that a cancelled Read had begun
	partType MessageType
	limit    atomic.Int64
	readErr  error         // sticky: the connection can no longer be read
	readWake chan struct{} // made by watch, under readSem
	readKill func()
	readCtx  context.Context // the read in progress, for its pongs

	// Compression (RFC 7692); defl and infl are nil when not agreed.
	infl      *inflater // under readSem
	inflated  int64     // its decompressed bytes so far
	inLimit   int64     // its decompressed size limit, or 0
	zbox      *[]byte   // the pooled buffer partial is in, if compressed
	raw       rawReader
	defl      *deflater // under writeSem
	hold      []byte    // the start of a Writer's message, under writeSem
	noDeflate atomic.Bool
	inflating bool // the open message is compressed (under readSem)

	// Writing. writeSem is held for a whole message, frameSem for one
	// frame; control frames take only frameSem.
	writeSem  chan struct{}
	frameSem  chan struct{}
	fw        frame.Writer
	mw        messageWriter
	wbuf      []byte
	wbox      *[]byte       // the pooled buffer wbuf is, during a Writer's message
	writeWake chan struct{} // made by watch, under frameSem
	writeKill func()
	pongs     *pongBufs // made by the first ping, under pongMu
	pongN     int
	pongDue   atomic.Bool // a pong waits in pongs.due[:pongN], under pongMu
	pongMu    sync.Mutex

	// Replies held back while more of the peer's messages wait to be read
	// (see send); only with a reader that goes through flusher.
	flusher    *readFlusher
	idle       *idler      // gives the read buffer back between messages, or nil
	moreIn     atomic.Bool // the reader holds input past the last message
	heldOut    atomic.Bool // frames wait in fw's buffer
	flushTimer *time.Timer // under frameSem
	flushArmed atomic.Bool

	// Closing.
	closeMu    sync.Mutex
	closeSent  bool          // our close frame is out (under frameSem)
	peerClose  *CloseError   // the peer's close frame, once read
	peerClosed chan struct{} // closed when peerClose is set
	closed     chan struct{} // closed when rwc is closed
	closeOnce  sync.Once
	cause      atomic.Pointer[error] // why this end closed, if not asked to

	// Pings.
	pingMu  sync.Mutex
	pings   map[uint64]chan<- struct{}
	pingSeq uint64
	rtt     atomic.Int64
	ka      *keepalive

	stats   connStats  // see Stats
	onClose closeHooks // run by CloseNow, for Groups and Queues
}

// pongBufs holds a pong's payload: due, the latest ping's (under pongMu),
// and out, the one being sent (under frameSem). Most connections are never
// pinged by their peer, so it is made only when one is.
type pongBufs struct {
	due, out [frame.MaxControlPayload]byte
}

type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// NewConn makes a Conn over a stream that has already completed its
// opening handshake: a hijacked HTTP/1.1 connection, an HTTP/2 extended
// CONNECT stream, or one end of a net.Pipe in tests. opts may be nil
// (a server with default settings).
//
// If rwc has SetReadDeadline and SetWriteDeadline methods (every net.Conn
// does), a cancelled context interrupts a blocked call and leaves the
// connection usable as each method documents; otherwise cancelling a
// blocked call closes the connection.
func NewConn(rwc io.ReadWriteCloser, opts *ConnOptions) *Conn {
	var o ConnOptions
	if opts != nil {
		o = *opts
	}
	cfg := o.Config
	if cfg.ReadLimit == 0 {
		cfg.ReadLimit = DefaultReadLimit
	}
	if cfg.WriteBufferSize <= 0 {
		cfg.WriteBufferSize = DefaultBufferSize
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = DefaultCloseTimeout
	}
	if cfg.PongTimeout <= 0 {
		cfg.PongTimeout = cfg.PingInterval
	}
	c := &Conn{
		rwc:        rwc,
		client:     o.Client,
		proto:      o.Subprotocol,
		cfg:        cfg,
		readSem:    make(chan struct{}, 1),
		writeSem:   make(chan struct{}, 1),
		frameSem:   make(chan struct{}, 1),
		peerClosed: make(chan struct{}),
		closed:     make(chan struct{}),
	}
	c.dl, _ = rwc.(deadliner)
	c.br, c.flusher = o.Reader, o.flusher
	if c.br == nil {
		if c.flusher == nil {
			c.flusher = &readFlusher{r: rwc}
		}
		c.flusher.c = c
		c.br = c.readBuffer(o.ReadBufferSize)
	}
	c.limit.Store(cfg.ReadLimit)
	c.mr = frame.MessageReader{
		Server:       !c.client,
		MaxFragments: cfg.MaxFragments,
		Control:      c.control,
	}
	c.mr.Reset(c.br)
	c.msg.c = c
	c.raw.c = c
	c.setupDeflate(o.Extensions)
	c.fw.Reset(rwc, c.client, cfg.WriteBufferSize)
	c.mw.c = c
	c.readKill = c.interruptRead
	c.writeKill = c.interruptWrite
	if cfg.PingInterval > 0 {
		c.startKeepalive()
	}
	return c
}

// Subprotocol returns the subprotocol the handshake agreed, or "".
func (c *Conn) Subprotocol() string { return c.proto }

// SetReadLimit sets the read limit (see Config.ReadLimit: zero means
// DefaultReadLimit, negative no limit) for messages whose first frame has
// not been read yet. It is safe to call at any time.
func (c *Conn) SetReadLimit(n int64) {
	if n == 0 {
		// As in Config: zero is the default, not "no limit".
		n = DefaultReadLimit
	}
	c.limit.Store(n)
}

// errClosed is returned by calls on a connection this end has closed.
var errClosed = fmt.Errorf("ws: connection closed: %w", net.ErrClosed)

// aLongTimeAgo is a deadline that has always passed: setting it
// interrupts a blocked read or write at once.
var aLongTimeAgo = time.Unix(1, 0)

// acquire takes sem, giving up when ctx is done or the connection closes.
func (c *Conn) acquire(ctx context.Context, sem chan struct{}) error {
	select {
	case sem <- struct{}{}:
		return nil
	default:
	}
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closed:
		return errClosed
	}
}

// watch arms ctx against the transport for one blocking call: once ctx is
// done, kill interrupts the call by moving the transport's deadline into
// the past. (ctx's own deadline is not copied to the transport: the
// transport could then time out a moment before ctx reports an error, and
// the call would look failed rather than cancelled.) A context that can
// never be done costs nothing.
func (c *Conn) watch(ctx context.Context, read bool) (stop func() bool) {
	if read {
		c.readCtx = ctx
	}
	if ctx.Done() == nil {
		return nil
	}
	if c.dl == nil {
		return context.AfterFunc(ctx, func() { c.CloseNow() })
	}
	// The wake channels are made on first use, under the lock of the
	// side they serve: most connections never see a cancellable context.
	if read {
		if c.readWake == nil {
			c.readWake = make(chan struct{}, 1)
		}
		return context.AfterFunc(ctx, c.readKill)
	}
	if c.writeWake == nil {
		c.writeWake = make(chan struct{}, 1)
	}
	return context.AfterFunc(ctx, c.writeKill)
}

// unwatch ends what watch began and clears the transport's deadline.
func (c *Conn) unwatch(stop func() bool, read bool) {
	if read {
		c.readCtx = nil
	}
	if stop == nil {
		return
	}
	if stop() || c.dl == nil {
		return
	}
	// The interrupt has started; wait until it is done so that it cannot
	// land on a later call, then undo it.
	if read {
		<-c.readWake
		c.dl.SetReadDeadline(time.Time{})
	} else {
		<-c.writeWake
		c.dl.SetWriteDeadline(time.Time{})
	}
}

func (c *Conn) interruptRead() {
	c.dl.SetReadDeadline(aLongTimeAgo)
	c.readWake <- struct{}{}
}

func (c *Conn) interruptWrite() {
	c.dl.SetWriteDeadline(aLongTimeAgo)
	c.writeWake <- struct{}{}
}

// ctxErr returns ctx's error if err came from interrupting a call for it.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, net.ErrClosed) {
			return cerr
		}
	}
	return nil
}

// CloseNow closes the transport without a closing handshake. Every
// blocked call returns. It is safe to call more than once and from any
// goroutine; it returns an error only from the first call.
func (c *Conn) CloseNow() error {
	err := errClosed
	c.closeOnce.Do(func() {
		c.flushBeforeClose()
		close(c.closed)
		err = c.rwc.Close()
		c.stopKeepalive()
		c.onClose.run()
	})
	return err
}

// isClosed reports whether the transport was closed by this end.
func (c *Conn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}
