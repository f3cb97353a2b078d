package ws

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"strconv"
	"sync"

	"github.com/ab7c482b/websocket/frame"
	"github.com/ab7c482b/websocket/handshake"
)

// CompressionMode selects how a connection uses permessage-deflate
// (RFC 7692), when the peer agrees to it.
type CompressionMode int

const (
	// CompressionNoContextTakeover compresses each message on its own.
	// Compressor and decompressor state is pooled between messages, so an
	// idle connection holds none of it. This is the default.
	CompressionNoContextTakeover CompressionMode = iota
	// CompressionContextTakeover keeps the compression dictionary across
	// messages in both directions, which shrinks streams of similar
	// messages further at the cost of a compressor held by every
	// connection for its whole life (see the README for measured figures).
	CompressionContextTakeover
	// CompressionDisabled neither offers nor accepts compression.
	CompressionDisabled
)

func (m CompressionMode) String() string {
	switch m {
	case CompressionNoContextTakeover:
		return "no context takeover"
	case CompressionContextTakeover:
		return "context takeover"
	case CompressionDisabled:
		return "disabled"
	}
	return "CompressionMode(" + strconv.Itoa(int(m)) + ")"
}

// DefaultCompressionThreshold is the size below which messages go out
// uncompressed: deflate's block overhead outweighs its gain on them.
const DefaultCompressionThreshold = 128

const (
	extDeflate         = "permessage-deflate"
	serverNoTakeover   = "server_no_context_takeover"
	clientNoTakeover   = "client_no_context_takeover"
	serverMaxWindow    = "server_max_window_bits"
	clientMaxWindow    = "client_max_window_bits"
	deflateWindowBits  = 15 // compress/flate always uses a 32 KiB window
	deflateWindowBytes = 1 << deflateWindowBits
)

// deflateParams is what a handshake agreed for this end of a connection.
type deflateParams struct {
	outTakeover bool // our compressor keeps its context across messages
	inTakeover  bool // the peer's does, so our decompressor must too
	// outWindow, if not 0, is the window in bits the peer allows our
	// compressor. compress/flate cannot narrow its 32 KiB window, so
	// below 15 bits we compress with Huffman coding alone, which refers
	// back to nothing and so fits any window.
	outWindow int
}

// narrow reports whether the agreed window rules out LZ77 matches.
func (p deflateParams) narrow() bool { return p.outWindow != 0 && p.outWindow < deflateWindowBits }

// deflateOffer is the client's offer for mode: in the default mode a
// request that neither side keep context, and in both modes
// client_max_window_bits without a value, which lets the server narrow
// our window (RFC 7692 §7.1.2.2). No server_max_window_bits: our
// decompressor reads any window.
func deflateOffer(mode CompressionMode) []handshake.Extension {
	switch mode {
	case CompressionNoContextTakeover:
		return []handshake.Extension{{Name: extDeflate, Params: []handshake.Param{
			{Name: serverNoTakeover}, {Name: clientNoTakeover}, {Name: clientMaxWindow},
		}}}
	case CompressionContextTakeover:
		return []handshake.Extension{{Name: extDeflate, Params: []handshake.Param{{Name: clientMaxWindow}}}}
	}
	return nil
}

// acceptDeflate picks the first permessage-deflate offer the server can
// honour (RFC 7692 §5.1) and returns the response for it. An offer with an
// unknown, repeated or malformed parameter is declined. One that limits
// the server's window below 15 bits is accepted, and this end then
// compresses with Huffman coding alone (see deflateParams.outWindow).
// With no acceptable offer the connection is not compressed.
func acceptDeflate(mode CompressionMode, offers []handshake.Extension) (handshake.Extension, deflateParams, bool) {
	if mode == CompressionDisabled {
		return handshake.Extension{}, deflateParams{}, false
	}
	for _, offer := range offers {
		if offer.Name != extDeflate {
			continue
		}
		p, ok := parseDeflateOffer(offer.Params)
		if !ok {
			continue
		}
		resp := handshake.Extension{Name: extDeflate}
		params := deflateParams{outTakeover: true, inTakeover: true}
		if p.serverNoTakeover || mode == CompressionNoContextTakeover {
			resp.Params = append(resp.Params, handshake.Param{Name: serverNoTakeover})
			params.outTakeover = false
		}
		// RFC 7692 §7.1.1.2: a server may ask the client not to keep
		// context even if the client did not offer it.
		if p.clientNoTakeover || mode == CompressionNoContextTakeover {
			resp.Params = append(resp.Params, handshake.Param{Name: clientNoTakeover})
			params.inTakeover = false
		}
		// RFC 7692 §7.1.2.1: a server accepts server_max_window_bits by
		// answering it with the same or a smaller value.
		if p.serverWindow != 0 {
			resp.Params = append(resp.Params, handshake.Param{Name: serverMaxWindow, Value: strconv.Itoa(p.serverWindow), HasValue: true})
			params.outWindow = p.serverWindow
			if params.narrow() {
				params.outTakeover = false // nothing to keep without matches
			}
		}
		return resp, params, true
	}
	return handshake.Extension{}, deflateParams{}, false
}

type deflateOfferParams struct {
	serverNoTakeover, clientNoTakeover bool
	serverWindow                       int // server_max_window_bits, or 0
}

// parseDeflateOffer checks an offer's parameters (RFC 7692 §7.1).
func parseDeflateOffer(params []handshake.Param) (deflateOfferParams, bool) {
	var o deflateOfferParams
	seen := map[string]bool{}
	for _, p := range params {
		if seen[p.Name] {
			return o, false // §7: a repeated parameter declines the offer
		}
		seen[p.Name] = true
		switch p.Name {
		case serverNoTakeover:
			if p.HasValue {
				return o, false
			}
			o.serverNoTakeover = true
		case clientNoTakeover:
			if p.HasValue {
				return o, false
			}
			o.clientNoTakeover = true
		case serverMaxWindow:
			bits, ok := windowBits(p)
			if !ok {
				return o, false
			}
			o.serverWindow = bits
		case clientMaxWindow:
			// Without a value it only says the client could narrow its
			// window; with one it caps the client's own window. Either
			// way our 32 KiB decompressor reads what the client sends.
			if p.HasValue {
				if _, ok := windowBits(p); !ok {
					return o, false
				}
			}
		default:
			return o, false
		}
	}
	return o, true
}

// windowBits parses a max_window_bits value: 8 to 15, digits only.
func windowBits(p handshake.Param) (int, bool) {
	if !p.HasValue || len(p.Value) == 0 || len(p.Value) > 2 {
		return 0, false
	}
	n, err := strconv.Atoi(p.Value)
	if err != nil || n < 8 || n > 15 || p.Value[0] == '0' {
		return 0, false
	}
	return n, true
}

var errDeflateResponse = errors.New("the server answered permessage-deflate with what the client did not offer or cannot honour")

// agreedDeflate reads the permessage-deflate agreement in a handshake's
// extensions, as this end sees it: a client reading the server's response
// (RFC 7692 §5.2) fails the connection on anything it did not offer or
// cannot honour.
func agreedDeflate(exts []handshake.Extension, client bool) (deflateParams, bool, error) {
	var serverNo, clientNo, found bool
	var serverWindow, clientWindow int
	for _, e := range exts {
		if e.Name != extDeflate || found {
			return deflateParams{}, false, errDeflateResponse
		}
		found = true
		seen := map[string]bool{}
		for _, p := range e.Params {
			if seen[p.Name] {
				return deflateParams{}, false, errDeflateResponse
			}
			seen[p.Name] = true
			switch p.Name {
			case serverNoTakeover, clientNoTakeover:
				if p.HasValue {
					return deflateParams{}, false, errDeflateResponse
				}
				serverNo = serverNo || p.Name == serverNoTakeover
				clientNo = clientNo || p.Name == clientNoTakeover
			case serverMaxWindow, clientMaxWindow:
				// A response names a window with a value (§7.1.2). A
				// narrower peer window only makes our 32 KiB
				// decompressor more than enough.
				bits, ok := windowBits(p)
				if !ok {
					return deflateParams{}, false, errDeflateResponse
				}
				if p.Name == serverMaxWindow {
					serverWindow = bits
				} else {
					clientWindow = bits
				}
			default:
				return deflateParams{}, false, errDeflateResponse
			}
		}
	}
	p := deflateParams{outTakeover: !serverNo, inTakeover: !clientNo, outWindow: serverWindow}
	if client {
		p = deflateParams{outTakeover: !clientNo, inTakeover: !serverNo, outWindow: clientWindow}
	}
	if p.narrow() {
		p.outTakeover = false
	}
	return p, found, nil
}

// The 4 bytes a sync flush ends with; RFC 7692 §7.2.1 has the sender
// strip them from each message and the receiver put them back.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// inflateEnd is what the decompressor reads after a message's payload: the
// stripped tail (RFC 7692 §7.2.2), then an empty final stored block. A
// message that ends on a block boundary, as every sender's must, then
// ends the deflate stream cleanly; one cut short inside a block does not,
// and is reported as corrupt rather than passed on truncated.
var inflateEnd = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// flateWriters pools compressors by level (index level+2, for -2..9).
var flateWriters [12]sync.Pool

// compressBufs pools the buffers that Write compresses messages into.
var compressBufs sync.Pool

// maxPooledBuf is the largest compression buffer kept for reuse.
const maxPooledBuf = 256 << 10

// sliceWriter appends what is written to b.
type sliceWriter struct{ b []byte }

func (s *sliceWriter) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// switchWriter passes writes on to w. A compressor writes through it for
// its whole life, while w follows the message being written.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

// deflater compresses outgoing messages for one connection. Without
// context takeover it borrows a pooled compressor for each message, so an
// idle connection holds none.
type deflater struct {
	level    int
	takeover bool
	kept     *flate.Writer // the compressor and its context, with takeover
	dst      switchWriter
	out      *sliceWriter // what compress returned, until release
}

// begin returns the compressor for one message, writing to dst. The
// caller ends the message with a Flush and then calls end.
func (d *deflater) begin(dst io.Writer) *flate.Writer {
	d.dst.w = dst
	if d.kept != nil {
		return d.kept
	}
	var fw *flate.Writer
	if v := flateWriters[d.level+2].Get(); v != nil {
		fw = v.(*flate.Writer)
		fw.Reset(&d.dst)
	} else {
		fw, _ = flate.NewWriter(&d.dst, d.level) // the level was checked
	}
	if d.takeover {
		d.kept = fw
	}
	return fw
}

// end finishes the message begin started.
func (d *deflater) end(fw *flate.Writer) {
	d.dst.w = nil
	if !d.takeover {
		flateWriters[d.level+2].Put(fw)
	}
}

// compress returns p compressed as one message's payload (RFC 7692
// §7.2.1), valid until release.
func (d *deflater) compress(p []byte) []byte {
	if d.out == nil {
		if v := compressBufs.Get(); v != nil {
			d.out = v.(*sliceWriter)
		} else {
			d.out = new(sliceWriter)
		}
	}
	d.out.b = d.out.b[:0]
	fw := d.begin(d.out)
	fw.Write(p)
	fw.Flush()
	d.end(fw)
	// Flush ends with an empty stored block: the tail to strip.
	return d.out.b[:len(d.out.b)-len(deflateTail)]
}

// release returns compress's buffer to the pool, so that an idle
// connection holds no output buffer either.
func (d *deflater) release() {
	if d.out == nil {
		return
	}
	if cap(d.out.b) <= maxPooledBuf {
		compressBufs.Put(d.out)
	}
	d.out = nil
}

// compressMessage returns p compressed on its own at level, in a new
// slice: a prepared message's payload.
func compressMessage(p []byte, level int) []byte {
	d := deflater{level: level}
	z := bytes.Clone(d.compress(p))
	d.release()
	return z
}

// tailWriter passes a message's compressed stream on to w but holds back
// its last four bytes: the stream ends with the sync flush's tail, which
// is not sent (RFC 7692 §7.2.1).
type tailWriter struct {
	w    io.Writer
	tail [4]byte
	n    int
}

func (t *tailWriter) Write(p []byte) (int, error) {
	total := len(p)
	if extra := t.n + len(p) - len(t.tail); extra > 0 {
		// Release the held bytes that p pushes out, then the part of p
		// that is not among the last four.
		k := min(extra, t.n)
		if _, err := t.w.Write(t.tail[:k]); err != nil {
			return 0, err
		}
		t.n = copy(t.tail[:], t.tail[k:t.n])
		if m := extra - k; m > 0 {
			if _, err := t.w.Write(p[:m]); err != nil {
				return 0, err
			}
			p = p[m:]
		}
	}
	t.n += copy(t.tail[t.n:], p)
	return total, nil
}

var flateReaders sync.Pool

// inflater decompresses incoming messages for one connection.
type inflater struct {
	takeover bool
	dict     []byte // the last 32 KiB of output, for context takeover
	src      inflateSource
	fr       io.ReadCloser
	whole    bytes.Reader // a whole message's payload, for inflateAll
}

// inflateSource feeds a message's compressed payload and then inflateEnd
// to the decompressor, as a ByteReader so that flate reads it without a
// bufio.Reader of its own.
type inflateSource struct {
	r     io.Reader
	buf   [512]byte
	b     []byte
	some  bool // the payload was not empty
	ended bool // inflateEnd has been handed out
}

func (s *inflateSource) fill() error {
	if s.r != nil {
		n, err := s.r.Read(s.buf[:])
		s.b = s.buf[:n]
		if n > 0 {
			s.some = true
			return nil
		}
		if err != io.EOF {
			if err == nil {
				err = io.ErrNoProgress
			}
			return err
		}
		s.r = nil
	}
	if s.ended {
		return io.EOF
	}
	s.b, s.ended = inflateEnd, true
	if !s.some {
		// An empty payload is an empty message. The sync flush's block
		// header is in the payload's last byte, so without one the
		// tail would not parse: read only the final block.
		s.b = inflateEnd[len(deflateTail):]
	}
	return nil
}

func (s *inflateSource) ReadByte() (byte, error) {
	for len(s.b) == 0 {
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c, nil
}

func (s *inflateSource) Read(p []byte) (int, error) {
	for len(s.b) == 0 {
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

var errCorruptDeflate = &frame.ProtocolError{Code: frame.CloseInvalidPayload, Reason: "compressed message cannot be decompressed"}

// start begins decompressing a message whose compressed payload r reads.
func (in *inflater) start(r io.Reader) {
	in.src = inflateSource{r: r}
	var dict []byte
	if in.takeover {
		dict = in.dict
	}
	if v := flateReaders.Get(); v != nil {
		in.fr = v.(io.ReadCloser)
		in.fr.(flate.Resetter).Reset(&in.src, dict)
	} else {
		in.fr = flate.NewReaderDict(&in.src, dict)
	}
}

// read reads decompressed payload, returning io.EOF at the message's end.
func (in *inflater) read(p []byte) (int, error) {
	n, err := in.fr.Read(p)
	if in.takeover && n > 0 {
		in.remember(p[:n])
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		// The message ended: at its own final block, or at ours.
		in.finish()
		return n, io.EOF
	}
	var ce flate.CorruptInputError
	if errors.As(err, &ce) || err == io.ErrUnexpectedEOF && in.src.ended {
		in.finish()
		return n, errCorruptDeflate
	}
	return n, err
}

// finish returns the decompressor to the pool.
func (in *inflater) finish() {
	if in.fr != nil {
		flateReaders.Put(in.fr)
		in.fr = nil
	}
	in.src = inflateSource{}
}

// remember keeps the last 32 KiB of output as the next message's
// dictionary (RFC 7692 §7.2.2, context takeover).
func (in *inflater) remember(p []byte) {
	if len(p) >= deflateWindowBytes {
		in.dict = append(in.dict[:0], p[len(p)-deflateWindowBytes:]...)
		return
	}
	if extra := len(in.dict) + len(p) - deflateWindowBytes; extra > 0 {
		in.dict = in.dict[:copy(in.dict, in.dict[extra:])]
	}
	in.dict = append(in.dict, p...)
}

// inflateAll decompresses a whole message held in memory into dst, failing
// with ErrMessageTooBig once the output passes limit (0 means none), after
// producing at most limit plus one buffer.
func (in *inflater) inflateAll(dst, compressed []byte, limit int64) ([]byte, error) {
	in.whole.Reset(compressed)
	in.start(&in.whole)
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := in.read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if limit > 0 && int64(len(dst)) > limit {
			in.finish()
			return nil, frame.ErrMessageTooBig
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			in.finish()
			return nil, err
		}
	}
}
