package conformance

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/ab7c482b/websocket/frame"
	"github.com/ab7c482b/websocket/ws"
)

// Names of permessage-deflate and its parameters (RFC 7692 §7.1).
const (
	pmd              = "permessage-deflate"
	serverNoTakeover = "server_no_context_takeover"
	clientNoTakeover = "client_no_context_takeover"
	serverMaxWindow  = "server_max_window_bits"
	clientMaxWindow  = "client_max_window_bits"
)

// compressThreshold is the library's default: shorter messages go out
// uncompressed.
const compressThreshold = ws.DefaultCompressionThreshold

// deflateSetup is how a case negotiates permessage-deflate.
type deflateSetup struct {
	// offer is the Sec-WebSocket-Extensions the raw client sends to the
	// server; "" sends none. The library's client offers what its mode
	// says (clientOffers).
	offer string
	// mode is the library's Config.Compression: examples/echo's
	// -compression against the server, Dial's against the client.
	mode ws.CompressionMode
	// agreed is the Sec-WebSocket-Extensions of the 101 response: what
	// examples/echo must answer to offer, or what the raw server answers
	// the client. "" means no extension, so compression is off.
	agreed string
}

// clientOffers is what our client offers in each mode.
var clientOffers = map[ws.CompressionMode]string{
	ws.CompressionNoContextTakeover: pmd + "; " + serverNoTakeover + "; " + clientNoTakeover + "; " + clientMaxWindow,
	ws.CompressionContextTakeover:   pmd + "; " + clientMaxWindow,
	ws.CompressionDisabled:          "",
}

// echoFlags are examples/echo's -compression values.
var echoFlags = map[ws.CompressionMode]string{
	ws.CompressionNoContextTakeover: "no-context-takeover",
	ws.CompressionContextTakeover:   "context-takeover",
	ws.CompressionDisabled:          "disabled",
}

// defaultSetup is what the zero Config negotiates at both ends; takeover
// what CompressionContextTakeover does.
var (
	defaultSetup  = deflateSetup{offer: clientOffers[ws.CompressionNoContextTakeover], agreed: pmd + "; " + serverNoTakeover + "; " + clientNoTakeover}
	takeoverSetup = deflateSetup{offer: pmd, mode: ws.CompressionContextTakeover, agreed: pmd}
)

// rawParams is how the raw side compresses its messages and decompresses
// the library's under a setup.
type rawParams struct {
	outTakeover bool // the raw side's compressor keeps context
	window      int  // the raw side's window bits: below 15, no matches
	inTakeover  bool // the library may keep context: keep the dictionary
}

// raw derives the raw side's parameters in direction d from the agreed
// response (RFC 7692 §7.1.1, §7.1.2).
func (s *deflateSetup) raw(d direction) rawParams {
	agreed := parseExtensions(s.agreed)
	var resp []string
	if len(agreed) == 1 {
		resp = agreed[0][1:]
	}
	if d == toServer {
		p := rawParams{window: 15, outTakeover: !hasParam(resp, clientNoTakeover), inTakeover: !hasParam(resp, serverNoTakeover)}
		// What the raw client offered binds it too (RFC 7692 §7.1.1.2,
		// §7.1.2.2): no context, or a window it promised to stay within.
		for _, o := range parseExtensions(s.offer) {
			p.outTakeover = p.outTakeover && !hasParam(o[1:], clientNoTakeover)
			if v, ok := paramValue(o[1:], clientMaxWindow); ok {
				n, _ := strconv.Atoi(v)
				p.window = min(p.window, n)
			}
		}
		if v, ok := paramValue(resp, clientMaxWindow); ok {
			n, _ := strconv.Atoi(v)
			p.window = min(p.window, n)
		}
		return p
	}
	p := rawParams{
		outTakeover: !hasParam(resp, serverNoTakeover),
		window:      15,
		inTakeover:  !hasParam(resp, clientNoTakeover),
	}
	if v, ok := paramValue(resp, serverMaxWindow); ok {
		p.window, _ = strconv.Atoi(v)
	}
	return p
}

// parseExtensions splits a Sec-WebSocket-Extensions value into its
// extensions, each its name then its parameters, sorted, quotes removed:
// parameter order does not matter (RFC 7692 §5).
func parseExtensions(h string) [][]string {
	var exts [][]string
	for e := range strings.SplitSeq(h, ",") {
		if strings.TrimSpace(e) == "" {
			continue
		}
		parts := strings.Split(e, ";")
		for i, p := range parts {
			name, value, ok := strings.Cut(p, "=")
			parts[i] = strings.TrimSpace(name)
			if ok {
				parts[i] += "=" + strings.Trim(strings.TrimSpace(value), `"`)
			}
		}
		slices.Sort(parts[1:])
		exts = append(exts, parts)
	}
	return exts
}

func hasParam(params []string, name string) bool {
	_, ok := paramValue(params, name)
	return ok || slices.Contains(params, name)
}

func paramValue(params []string, name string) (string, bool) {
	for _, p := range params {
		if v, ok := strings.CutPrefix(p, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// The 4 bytes that end a sync flush: each message's compressed data goes
// without them and the receiver puts them back (RFC 7692 §7.2.1, §7.2.2).
var syncTail = []byte{0x00, 0x00, 0xff, 0xff}

// rawDeflater compresses the raw side's messages (RFC 7692 §7.2.1), on
// its own: compress/flate directly, none of package ws.
type rawDeflater struct {
	p     rawParams
	level int // flate's level; 0 is flate.DefaultCompression
	buf   bytes.Buffer
	fw    *flate.Writer
}

func (d *rawDeflater) compress(p []byte) []byte {
	d.buf.Reset()
	switch {
	case d.fw == nil:
		// compress/flate always uses a 32 KiB window; within a smaller
		// agreed one only Huffman coding without matches is safe.
		level := d.level
		if level == 0 {
			level = flate.DefaultCompression
		}
		if d.p.window < 15 {
			level = flate.HuffmanOnly
		}
		d.fw, _ = flate.NewWriter(&d.buf, level)
	case !d.p.outTakeover:
		d.fw.Reset(&d.buf) // RFC 7692 §7.2.1: a fresh window per message
	}
	d.fw.Write(p)
	d.fw.Flush()
	z := d.buf.Bytes()
	if !bytes.HasSuffix(z, syncTail) {
		panic("flate: a sync flush did not end with 00 00 ff ff")
	}
	return bytes.Clone(z[:len(z)-len(syncTail)])
}

// rawInflater decompresses the library's messages. With context takeover
// the last 32 KiB of what it decompressed is the next message's
// dictionary (RFC 7692 §7.2.2).
type rawInflater struct {
	takeover bool
	dict     []byte
}

func (in *rawInflater) inflate(z []byte) ([]byte, error) {
	var dict []byte
	if in.takeover {
		dict = in.dict
	}
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(z), bytes.NewReader(syncTail)), dict)
	p, err := io.ReadAll(r)
	if err == io.ErrUnexpectedEOF {
		// The usual end: the restored empty stored block, and no final
		// block after it. A message that was cut short shows as a
		// payload that differs from the one sent.
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("compressed message does not inflate (RFC 7692 §7.2.2): %w", err)
	}
	if in.takeover {
		in.dict = append(in.dict, p...)
		if n := len(in.dict) - 1<<15; n > 0 {
			in.dict = slices.Clone(in.dict[n:])
		}
	}
	return p, nil
}

// message is one message a deflate case sends.
type message struct {
	op    frame.Opcode
	data  []byte
	frag  int  // fragment the payload in frames of frag bytes; 0: one frame
	plain bool // send it uncompressed, as RFC 7692 §6 allows per message
}

// deflateCase sends msgs under setup s and wants each echoed: compressed
// (RSV1 on its first frame) if agreed and at least compressThreshold
// bytes long, uncompressed otherwise. In both directions the raw side
// must compress the same way in either role.
func deflateCase(id, desc string, dirs direction, s deflateSetup, msgs ...message) testCase {
	p := s.rawFor(dirs)
	// Cases that send the same messages the same way share their frames.
	key := sendKey{p: p, compressed: s.agreed != "", n: len(msgs)}
	if p.window < 15 {
		key.p.window = 8 // all narrow windows compress alike
	}
	if len(msgs[0].data) > 0 {
		key.first = &msgs[0].data[0]
	}
	send, ok := sentFrames[key]
	if !ok || key.first == nil {
		z := rawDeflater{p: p}
		for _, m := range msgs {
			send = append(send, s.frames(&z, m)...)
		}
		sentFrames[key] = send
	}
	var want []event
	for _, m := range msgs {
		want = append(want, event{op: m.op, data: m.data, compressed: s.agreed != "" && len(m.data) >= compressThreshold})
	}
	tc := echoCase(id, desc, send, want...)
	tc.dirs, tc.pmd = dirs, &s
	return tc
}

// sendKey identifies the frames of a run of messages sent one way.
type sendKey struct {
	p          rawParams
	compressed bool
	first      *byte // the first message's data
	n          int
}

// sentFrames holds the frames deflateCase encoded, while the table is
// built (once, under tableOnce).
var sentFrames = map[sendKey][]wireFrame{}

// deflateFail is a case under setup s that the library must fail with
// code.
func deflateFail(id, desc string, dirs direction, s deflateSetup, code frame.CloseCode, send []wireFrame, want ...event) testCase {
	tc := failCase(id, desc, code, send, want...)
	tc.dirs, tc.pmd = dirs, &s
	return tc
}

// rawFor returns the raw side's parameters in dirs, which must be the
// same in both roles when dirs is both.
func (s *deflateSetup) rawFor(dirs direction) rawParams {
	if dirs == both && s.raw(toServer) != s.raw(toClient) {
		panic("deflate setup " + s.agreed + " is not symmetric: give the case one direction")
	}
	if dirs == toClient {
		return s.raw(toClient)
	}
	return s.raw(toServer)
}

// frames encodes m as the raw side sends it: compressed with z, RSV1 on
// the first frame only (RFC 7692 §6.1), unless plain or not agreed.
func (s *deflateSetup) frames(z *rawDeflater, m message) []wireFrame {
	p := m.data
	compressed := !m.plain && s.agreed != ""
	if compressed {
		p = z.compress(p)
	}
	size := m.frag
	if size <= 0 {
		size = max(len(p), 1)
	}
	fs := fragments(m.op, p, size)
	if compressed {
		fs[0].rsv = frame.Rsv1
	}
	return fs
}

// compressed returns p compressed on its own at level, as one message's
// payload.
func compressed(p []byte, level int) []byte {
	z := rawDeflater{p: rawParams{window: 15}, level: level}
	return z.compress(p)
}

// jsonPayload returns n bytes of text like a JSON API's output: records
// of the same shape with varying values, deterministic.
func jsonPayload(n int) []byte {
	var b []byte
	x := uint32(88172645)
	for i := 0; len(b) < n; i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b = fmt.Appendf(b, `{"id":%d,"user":"user-%d","active":%t,"score":%d.%02d,"tags":["alpha","beta"]},`+"\n",
			i, x%10000, x&1 == 0, x%1000, x%97)
	}
	return b[:n]
}
