package frame_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ab7c482b/websocket/frame"
)

// fr describes one frame for encode.
type fr struct {
	fin     bool
	rsv     byte
	op      frame.Opcode
	payload string
}

// encode returns the wire form of frames, masked (as a client sends them)
// with a different key per frame when masked is true.
func encode(masked bool, frames ...fr) string {
	var b []byte
	for i, f := range frames {
		h := frame.Header{Fin: f.fin, Rsv: f.rsv, Opcode: f.op, Length: int64(len(f.payload))}
		if masked {
			h.Masked = true
			h.Mask = [4]byte{byte(i), 0x5a, ^byte(i), 0xa5}
		}
		b = frame.AppendHeader(b, h)
		start := len(b)
		b = append(b, f.payload...)
		if masked {
			frame.Mask(h.Mask, 0, b[start:])
		}
	}
	return string(b)
}

// summary shortens a payload for a log line.
func summary(p []byte) string {
	if len(p) <= 40 {
		return string(p)
	}
	return fmt.Sprintf("%d bytes crc %08x", len(p), crc32.ChecksumIEEE(p))
}

// drain reads every message from m and logs what it sees: "begin <op>"
// at each Next, "<op> <payload>" for each control frame, "end <payload>"
// for a message read to io.EOF. readLimit, when not nil, says how many
// bytes to read of message i before moving on (logged as "skip after
// <payload>"); a negative answer means all of it. Errors for which retry
// returns true are retried, as a caller whose read deadline passed would.
// drain returns the log and the error that ended the stream.
func drain(m *frame.MessageReader, readSize int, readLimit func(i int) int, retry func(error) bool) ([]string, error) {
	var log []string
	m.Control = func(h frame.Header, p []byte) error {
		log = append(log, h.Opcode.String()+" "+summary(p))
		return nil
	}
	if retry == nil {
		retry = func(error) bool { return false }
	}
	buf := make([]byte, readSize)
	for i := 0; ; i++ {
		h, err := m.Next()
		for err != nil && retry(err) {
			h, err = m.Next()
		}
		if err != nil {
			return log, err
		}
		begin := "begin " + h.Opcode.String()
		if h.Rsv != 0 {
			begin += fmt.Sprintf(" rsv=%#x", h.Rsv)
		}
		log = append(log, begin)

		want := -1
		if readLimit != nil {
			want = readLimit(i)
		}
		var data []byte
		for want < 0 || len(data) < want {
			b := buf
			if want >= 0 {
				b = buf[:min(len(buf), want-len(data))]
			}
			n, err := m.Read(b)
			data = append(data, b[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil && !retry(err) {
				log = append(log, "partial "+summary(data))
				return log, err
			}
		}
		if want >= 0 {
			log = append(log, "skip after "+summary(data))
		} else {
			log = append(log, "end "+summary(data))
		}
	}
}

// readerKinds are the ways the stream under a MessageReader can deliver
// bytes; every one must give the same messages.
var readerKinds = []struct {
	name     string
	wrap     func(io.Reader) io.Reader
	readSize int // buffer handed to MessageReader.Read
}{
	{"plain big reads", func(r io.Reader) io.Reader { return r }, 1 << 17},
	{"plain small reads", func(r io.Reader) io.Reader { return r }, 7},
	{"one byte", iotest.OneByteReader, 7},
	{"half", iotest.HalfReader, 1 << 17},
	{"data err", iotest.DataErrReader, 100},
}

type readerConfig struct {
	server   bool
	rsv      byte
	limit    int64
	maxFrags int
}

func newMessageReader(cfg readerConfig, r io.Reader) *frame.MessageReader {
	m := &frame.MessageReader{
		Server:       cfg.server,
		Rsv:          cfg.rsv,
		Limit:        cfg.limit,
		MaxFragments: cfg.maxFrags,
	}
	m.Reset(bufio.NewReader(r))
	return m
}

// checkErr asserts that err is want, or when code is not zero, a
// *ProtocolError carrying code.
func checkErr(t *testing.T, want error, code frame.CloseCode, err error) {
	t.Helper()
	if code != 0 {
		var pe *frame.ProtocolError
		if assert.ErrorAs(t, err, &pe) {
			assert.Equal(t, code, pe.Code)
		}
		return
	}
	assert.ErrorIs(t, err, want)
}

var (
	bin256  = strings.Repeat("\x00\x01\xfe\xff", 64)
	bin64K  = strings.Repeat("0123456789abcdef", 4096)
	text70K = strings.Repeat("κόσμε ", 7000)
)

var readTests = []struct {
	name string
	cfg  readerConfig
	wire string
	want []string
	err  error           // the error that ends the stream, or
	code frame.CloseCode // the close code of the *ProtocolError that does
}{
	// RFC 6455 §5.7 examples.
	{
		name: "rfc single-frame unmasked text",
		wire: "\x81\x05Hello",
		want: []string{"begin text", "end Hello"},
		err:  io.EOF,
	},
	{
		name: "rfc single-frame masked text",
		cfg:  readerConfig{server: true},
		wire: "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
		want: []string{"begin text", "end Hello"},
		err:  io.EOF,
	},
	{
		name: "rfc fragmented unmasked text",
		wire: "\x01\x03Hel\x80\x02lo",
		want: []string{"begin text", "end Hello"},
		err:  io.EOF,
	},
	{
		name: "rfc unmasked ping before a message",
		wire: "\x89\x05Hello\x81\x02hi",
		want: []string{"ping Hello", "begin text", "end hi"},
		err:  io.EOF,
	},
	{
		name: "rfc masked pong",
		cfg:  readerConfig{server: true},
		wire: "\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
		want: []string{"pong Hello"},
		err:  io.EOF,
	},
	{
		name: "rfc 256-byte binary",
		wire: "\x82\x7e\x01\x00" + bin256,
		want: []string{"begin binary", "end " + summary([]byte(bin256))},
		err:  io.EOF,
	},
	{
		name: "rfc 64 KiB binary",
		wire: "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00" + bin64K,
		want: []string{"begin binary", "end " + summary([]byte(bin64K))},
		err:  io.EOF,
	},

	// RFC 6455 §5.4: control frames may be injected in the middle of a
	// fragmented message, and are delivered in order.
	{
		name: "control frames between fragments",
		wire: encode(false,
			fr{op: frame.OpText, payload: "Hel"},
			fr{fin: true, op: frame.OpPing, payload: "p1"},
			fr{fin: true, op: frame.OpPong},
			fr{op: frame.OpContinuation, payload: "l"},
			fr{fin: true, op: frame.OpClose, payload: "\x03\xe8bye"},
			fr{fin: true, op: frame.OpContinuation, payload: "o"},
		),
		want: []string{"begin text", "ping p1", "pong ", "close \x03\xe8bye", "end Hello"},
		err:  io.EOF,
	},
	{
		name: "masked control frames between masked fragments",
		cfg:  readerConfig{server: true},
		wire: encode(true,
			fr{op: frame.OpBinary, payload: "abcdefghij"},
			fr{fin: true, op: frame.OpPing, payload: strings.Repeat("P", 125)},
			fr{op: frame.OpContinuation, payload: "klmnopq"},
			fr{fin: true, op: frame.OpPong, payload: "pong payload"},
			fr{fin: true, op: frame.OpPing, payload: "second ping"},
			fr{fin: true, op: frame.OpContinuation, payload: "rstuvwxyz"},
			fr{fin: true, op: frame.OpText, payload: "next"},
		),
		want: []string{
			"begin binary", "ping " + summary([]byte(strings.Repeat("P", 125))),
			"pong pong payload", "ping second ping",
			"end abcdefghijklmnopqrstuvwxyz", "begin text", "end next",
		},
		err: io.EOF,
	},
	{
		name: "empty message",
		wire: "\x82\x00",
		want: []string{"begin binary", "end "},
		err:  io.EOF,
	},
	{
		name: "empty fragments",
		wire: encode(false,
			fr{op: frame.OpBinary},
			fr{op: frame.OpContinuation},
			fr{op: frame.OpContinuation, payload: "x"},
			fr{fin: true, op: frame.OpContinuation},
		),
		want: []string{"begin binary", "end x"},
		err:  io.EOF,
	},
	{
		name: "large masked fragmented text",
		cfg:  readerConfig{server: true},
		wire: encode(true,
			fr{op: frame.OpText, payload: text70K[:30000]},
			fr{fin: true, op: frame.OpPing, payload: "mid"},
			fr{fin: true, op: frame.OpContinuation, payload: text70K[30000:]},
		),
		want: []string{"begin text", "ping mid", "end " + summary([]byte(text70K))},
		err:  io.EOF,
	},

	// RFC 6455 §5.1: a server rejects unmasked frames, a client masked ones.
	{
		name: "server rejects unmasked",
		cfg:  readerConfig{server: true},
		wire: "\x81\x05Hello",
		code: frame.CloseProtocolError,
	},
	{
		name: "server rejects unmasked control between fragments",
		cfg:  readerConfig{server: true},
		wire: encode(true, fr{op: frame.OpText, payload: "Hel"}) + "\x89\x00",
		want: []string{"begin text", "partial Hel"},
		code: frame.CloseProtocolError,
	},
	{
		name: "client rejects masked",
		wire: "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
		code: frame.CloseProtocolError,
	},
	{
		name: "client rejects masked ping",
		wire: "\x81\x02hi\x89\x80\x01\x02\x03\x04",
		want: []string{"begin text", "end hi"},
		code: frame.CloseProtocolError,
	},

	// RFC 6455 §5.4: fragments of one message are not interleaved.
	{
		name: "continuation with no message open",
		wire: "\x80\x02lo",
		code: frame.CloseProtocolError,
	},
	{
		name: "continuation after a complete message",
		wire: "\x81\x02hi\x00\x02lo",
		want: []string{"begin text", "end hi"},
		code: frame.CloseProtocolError,
	},
	{
		name: "text while a fragmented message is open",
		wire: "\x01\x03Hel\x81\x02lo",
		want: []string{"begin text", "partial Hel"},
		code: frame.CloseProtocolError,
	},
	{
		name: "binary while a fragmented message is open",
		wire: "\x02\x03Hel\x02\x02lo",
		want: []string{"begin binary", "partial Hel"},
		code: frame.CloseProtocolError,
	},

	// RFC 6455 §5.2: RSV bits need a negotiated extension.
	{
		name: "rsv1 without extension",
		wire: "\xc1\x05Hello",
		code: frame.CloseProtocolError,
	},
	{
		name: "rsv1 allowed",
		cfg:  readerConfig{rsv: frame.Rsv1},
		wire: "\xc1\x05Hello\x41\x01a\x80\x01b",
		want: []string{"begin text rsv=0x40", "end Hello", "begin text rsv=0x40", "end ab"},
		err:  io.EOF,
	},
	{
		name: "rsv2 when only rsv1 allowed",
		cfg:  readerConfig{rsv: frame.Rsv1},
		wire: "\xa1\x05Hello",
		code: frame.CloseProtocolError,
	},
	{
		// RFC 7692 §6.1: RSV1 is set on the first frame only.
		name: "rsv1 on continuation even when allowed",
		cfg:  readerConfig{rsv: frame.Rsv1},
		wire: "\x41\x03Hel\xc0\x02lo",
		want: []string{"begin text rsv=0x40", "partial Hel"},
		code: frame.CloseProtocolError,
	},
	{
		name: "rsv on control even when allowed",
		cfg:  readerConfig{rsv: frame.Rsv1 | frame.Rsv2 | frame.Rsv3},
		wire: "\xc9\x00",
		code: frame.CloseProtocolError,
	},

	// Header rules of RFC 6455 §5.2 and §5.5 reach the caller.
	{
		name: "reserved data opcode",
		wire: "\x83\x00",
		code: frame.CloseProtocolError,
	},
	{
		name: "reserved control opcode between fragments",
		wire: "\x01\x01a\x8b\x00",
		want: []string{"begin text", "partial a"},
		code: frame.CloseProtocolError,
	},
	{
		name: "fragmented ping",
		wire: "\x09\x00",
		code: frame.CloseProtocolError,
	},
	{
		name: "ping of 126 bytes",
		wire: "\x89\x7e\x00\x7e" + strings.Repeat("p", 126),
		code: frame.CloseProtocolError,
	},
	{
		name: "non-minimal length",
		wire: "\x82\x7e\x00\x05hello",
		code: frame.CloseProtocolError,
	},

	// Limits. RFC 6455 §10.4: an endpoint may bound message size; 1009
	// (§7.4.1) reports it.
	{
		name: "limit exactly reached",
		cfg:  readerConfig{limit: 5},
		wire: "\x01\x03Hel\x80\x02lo\x82\x05world",
		want: []string{"begin text", "end Hello", "begin binary", "end world"},
		err:  io.EOF,
	},
	{
		name: "single frame over limit",
		cfg:  readerConfig{limit: 4},
		wire: "\x81\x05Hello",
		code: frame.CloseMessageTooBig,
	},
	{
		name: "fragments over limit",
		cfg:  readerConfig{limit: 4},
		wire: "\x01\x03Hel\x80\x02lo",
		want: []string{"begin text", "partial Hel"},
		code: frame.CloseMessageTooBig,
	},
	{
		name: "control frames do not count toward limits",
		cfg:  readerConfig{limit: 2, maxFrags: 2},
		wire: "\x01\x01a\x89\x7d" + strings.Repeat("p", 125) + "\x80\x01b",
		want: []string{"begin text", "ping " + summary([]byte(strings.Repeat("p", 125))), "end ab"},
		err:  io.EOF,
	},
	{
		name: "max fragments reached",
		cfg:  readerConfig{maxFrags: 3},
		wire: "\x01\x01H\x00\x01e\x80\x01y",
		want: []string{"begin text", "end Hey"},
		err:  io.EOF,
	},
	{
		name: "too many fragments",
		cfg:  readerConfig{maxFrags: 2},
		wire: "\x01\x01H\x00\x01e\x80\x01y",
		want: []string{"begin text", "partial He"},
		code: frame.ClosePolicyViolation,
	},

	// io.EOF only between frames; anything cut short is unexpected.
	{
		name: "empty stream",
		wire: "",
		err:  io.EOF,
	},
	{
		name: "cut in first header byte",
		wire: "\x81",
		err:  io.ErrUnexpectedEOF,
	},
	{
		name: "cut in extended length",
		wire: "\x82\x7e\x01",
		err:  io.ErrUnexpectedEOF,
	},
	{
		name: "cut in masking key",
		cfg:  readerConfig{server: true},
		wire: "\x81\x85\x37\xfa",
		err:  io.ErrUnexpectedEOF,
	},
	{
		name: "cut in payload",
		wire: "\x81\x05Hel",
		want: []string{"begin text", "partial Hel"},
		err:  io.ErrUnexpectedEOF,
	},
	{
		name: "cut between fragments",
		wire: "\x01\x03Hel",
		want: []string{"begin text", "partial Hel"},
		err:  io.ErrUnexpectedEOF,
	},
	{
		name: "cut in control payload between fragments",
		wire: "\x01\x03Hel\x89\x05He",
		want: []string{"begin text", "partial Hel"},
		err:  io.ErrUnexpectedEOF,
	},
	{
		name: "cut in control payload",
		wire: "\x89\x05He",
		err:  io.ErrUnexpectedEOF,
	},
	{
		name: "cut in header after a message",
		wire: "\x81\x02hi\x89",
		want: []string{"begin text", "end hi"},
		err:  io.ErrUnexpectedEOF,
	},
	{
		name: "clean end after a control frame",
		wire: "\x81\x02hi\x8a\x00",
		want: []string{"begin text", "end hi", "pong "},
		err:  io.EOF,
	},
}

func TestMessageReader(t *testing.T) {
	for _, tc := range readTests {
		t.Run(tc.name, func(t *testing.T) {
			for _, rk := range readerKinds {
				m := newMessageReader(tc.cfg, rk.wrap(strings.NewReader(tc.wire)))
				log, err := drain(m, rk.readSize, nil, nil)
				assert.Equal(t, tc.want, log, rk.name)
				checkErr(t, tc.err, tc.code, err)

				// The error is sticky, except io.EOF and friends,
				// which the stream decides.
				if tc.code != 0 {
					_, err2 := m.Next()
					assert.Equal(t, err, err2, "%s: sticky", rk.name)
					_, err2 = m.Read(make([]byte, 1))
					assert.Equal(t, err, err2, "%s: sticky", rk.name)
				}
			}
		})
	}
}

// TestMessageReaderNextSkips reads some messages partly or not at all:
// Next must skip the rest of each, still handing control frames found on
// the way to Control.
func TestMessageReaderNextSkips(t *testing.T) {
	wire := encode(false,
		fr{op: frame.OpText, payload: "unread "},
		fr{fin: true, op: frame.OpPing, payload: "in unread"},
		fr{fin: true, op: frame.OpContinuation, payload: "message"},
		fr{op: frame.OpBinary, payload: "partly"},
		fr{op: frame.OpContinuation, payload: " read"},
		fr{fin: true, op: frame.OpPong, payload: "in partly read"},
		fr{fin: true, op: frame.OpContinuation, payload: bin64K},
		fr{fin: true, op: frame.OpText, payload: "whole"},
		fr{fin: true, op: frame.OpBinary, payload: bin64K},
		fr{fin: true, op: frame.OpText, payload: "last"},
	)
	readLimit := func(i int) int {
		return []int{0, 3, -1, 10, -1}[i]
	}
	want := []string{
		"begin text", "skip after ",
		"ping in unread",
		"begin binary", "skip after par",
		"pong in partly read",
		"begin text", "end whole",
		"begin binary", "skip after 0123456789",
		"begin text", "end last",
	}
	for _, rk := range readerKinds {
		t.Run(rk.name, func(t *testing.T) {
			m := newMessageReader(readerConfig{}, rk.wrap(strings.NewReader(wire)))
			log, err := drain(m, rk.readSize, readLimit, nil)
			assert.Equal(t, want, log)
			assert.ErrorIs(t, err, io.EOF)
		})
	}
}

// trapReader fails the test if anyone reads from it.
type trapReader struct{ read bool }

func (r *trapReader) Read(p []byte) (int, error) {
	r.read = true
	return 0, errors.New("trap: read past the header")
}

// TestMessageReaderLimitBeforePayload checks that a header whose length
// breaks Limit fails at once, before any of its payload is read, so a
// hostile peer cannot make the reader wait for or buffer 1 TiB.
func TestMessageReaderLimitBeforePayload(t *testing.T) {
	const tib = "\x7f\x00\x00\x01\x00\x00\x00\x00\x00" // 127 + 2^40
	tests := []struct {
		name string
		wire string
		want []string
	}{
		{"first frame of 1 TiB", "\x82" + tib, nil},
		{"continuation of 1 TiB", "\x02\x05hello\x80" + tib, []string{"begin binary", "partial hello"}},
		{
			"continuations adding up past the limit",
			"\x02\x7f\x00\x00\x00\x00\x00\x08\x00\x00" + strings.Repeat("a", 512<<10) +
				"\x00\x7f\x00\x00\x00\x00\x00\x08\x00\x00" + strings.Repeat("b", 512<<10) +
				"\x80\x01c",
			[]string{"begin binary", "partial " + summary([]byte(strings.Repeat("a", 512<<10)+strings.Repeat("b", 512<<10)))},
		},
	}
	for _, tc := range tests {
		for _, rk := range readerKinds {
			if rk.name == "data err" {
				continue // it reads ahead to find the error, so it would spring the trap itself
			}
			t.Run(tc.name+"/"+rk.name, func(t *testing.T) {
				trap := &trapReader{}
				r := rk.wrap(io.MultiReader(strings.NewReader(tc.wire), trap))
				m := newMessageReader(readerConfig{limit: 1 << 20}, r)
				log, err := drain(m, rk.readSize, nil, nil)
				assert.Equal(t, tc.want, log)
				assert.ErrorIs(t, err, frame.ErrMessageTooBig)
				checkErr(t, nil, frame.CloseMessageTooBig, err)
				assert.False(t, trap.read, "read past the header")
			})
		}
	}
}

// errTimeout stands for a read deadline that passed: an error that is
// not the end of the stream, after which reading may go on.
var errTimeout error = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string { return "i/o timeout" }
func (timeoutError) Timeout() bool { return true }

// flakyReader fails some reads with errTimeout before reading anything:
// every k-th call, or when rng is set, each call with probability 1/k.
type flakyReader struct {
	r     io.Reader
	k     int
	rng   *rand.Rand
	calls int
	fails int
}

func (f *flakyReader) Read(p []byte) (int, error) {
	f.calls++
	if (f.rng == nil && f.calls%f.k == 0) || (f.rng != nil && f.rng.IntN(f.k) == 0) {
		f.fails++
		return 0, errTimeout
	}
	return f.r.Read(p)
}

// resumeStream returns a stream of many messages of varied sizes, split
// into random fragments with control frames between them, masked if
// masked is true.
func resumeStream(seed uint64, masked bool) string {
	r := rand.New(rand.NewPCG(seed, 99))
	var frames []fr
	for i := range 60 {
		n := r.IntN(300)
		switch i % 10 {
		case 3:
			n = 0
		case 7:
			n = 70_000 + r.IntN(1000)
		}
		msg := randBytes(r, n)
		op := frame.OpBinary
		if i%2 == 0 {
			op = frame.OpText
		}
		for first := true; ; first = false {
			k := len(msg)
			if r.IntN(2) == 0 {
				k = r.IntN(len(msg) + 1)
			}
			f := fr{fin: k == len(msg), op: frame.OpContinuation, payload: string(msg[:k])}
			if first {
				f.op = op
			}
			frames = append(frames, f)
			msg = msg[k:]
			for r.IntN(3) == 0 {
				ctl := fr{fin: true, op: frame.OpPing, payload: string(randBytes(r, r.IntN(126)))}
				if r.IntN(2) == 0 {
					ctl.op = frame.OpPong
				}
				frames = append(frames, ctl)
			}
			if f.fin {
				break
			}
		}
	}
	return encode(masked, frames...)
}

// TestMessageReaderResume makes reads fail with a timeout at many points,
// in headers, payloads and control frames, and retries each failed Next
// or Read: the messages must be exactly those of a run without failures.
// This is what lets package ws resume a read cancelled by a deadline.
func TestMessageReaderResume(t *testing.T) {
	for _, server := range []bool{false, true} {
		base := resumeStream(1, server)
		streams := []struct {
			name string
			wire string
		}{
			{"clean end", base},
			{"protocol error at end", base + "\x83\x00"},
			{"cut at end", base + encode(server, fr{fin: true, op: frame.OpBinary, payload: "cut"})[:5]},
		}
		for _, st := range streams {
			cfg := readerConfig{server: server, limit: 1 << 20}
			readLimit := func(i int) int {
				switch i % 4 {
				case 1:
					return 0
				case 2:
					return 5
				}
				return -1
			}
			m := newMessageReader(cfg, strings.NewReader(st.wire))
			wantLog, wantErr := drain(m, 1<<10, readLimit, nil)
			require.Greater(t, len(wantLog), 100)

			retry := func(err error) bool { return errors.Is(err, errTimeout) }
			for _, k := range []int{2, 3, 5, 7, 13} {
				for _, rk := range readerKinds {
					for _, random := range []bool{false, true} {
						name := fmt.Sprintf("server=%v/%s/k=%d/%s/random=%v", server, st.name, k, rk.name, random)
						t.Run(name, func(t *testing.T) {
							t.Parallel()
							fl := &flakyReader{r: rk.wrap(strings.NewReader(st.wire)), k: k}
							if random {
								fl.rng = rand.New(rand.NewPCG(uint64(k), 7))
							}
							m := newMessageReader(cfg, fl)
							log, err := drain(m, rk.readSize, readLimit, retry)
							assert.Equal(t, wantLog, log)
							assert.Equal(t, wantErr, err)
							assert.Positive(t, fl.fails)
						})
					}
				}
			}
		}
	}
}

var errStop = errors.New("test: stop")

// TestMessageReaderControlError checks that an error from Control stops
// the reader, is returned from Next and Read, and stays.
func TestMessageReaderControlError(t *testing.T) {
	wire := "\x01\x03Hel\x89\x04stop\x80\x02lo\x81\x02hi"
	m := newMessageReader(readerConfig{}, strings.NewReader(wire))
	var calls int
	m.Control = func(h frame.Header, p []byte) error {
		calls++
		assert.Equal(t, frame.OpPing, h.Opcode)
		assert.Equal(t, "stop", string(p))
		return errStop
	}
	h, err := m.Next()
	require.NoError(t, err)
	assert.Equal(t, frame.OpText, h.Opcode)

	got, err := io.ReadAll(m)
	assert.Equal(t, "Hel", string(got))
	assert.ErrorIs(t, err, errStop)

	_, err = m.Read(make([]byte, 10))
	assert.ErrorIs(t, err, errStop)
	_, err = m.Next()
	assert.ErrorIs(t, err, errStop)
	assert.Equal(t, 1, calls)

	// Reset clears it.
	m.Reset(bufio.NewReader(strings.NewReader("\x81\x02hi")))
	_, err = m.Next()
	assert.NoError(t, err)
}

// TestMessageReaderControlNil checks that control frames are consumed
// when nobody listens.
func TestMessageReaderControlNil(t *testing.T) {
	m := newMessageReader(readerConfig{}, strings.NewReader("\x89\x01p\x01\x01a\x8a\x00\x80\x01b"))
	_, err := m.Next()
	require.NoError(t, err)
	got, err := io.ReadAll(m)
	require.NoError(t, err)
	assert.Equal(t, "ab", string(got))
}

func TestMessageReaderRemaining(t *testing.T) {
	m := newMessageReader(readerConfig{}, strings.NewReader("\x01\x02ab\x80\x00\x81\x00"))
	assert.False(t, m.Remaining(), "before Next")
	n, err := m.Read(make([]byte, 1))
	assert.Equal(t, 0, n)
	assert.ErrorIs(t, err, io.EOF, "Read before Next")

	_, err = m.Next()
	require.NoError(t, err)
	assert.True(t, m.Remaining())
	_, err = io.ReadFull(m, make([]byte, 2))
	require.NoError(t, err)
	assert.True(t, m.Remaining(), "the final frame is still to come")
	_, err = m.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF)
	assert.False(t, m.Remaining())

	_, err = m.Next()
	require.NoError(t, err)
	assert.False(t, m.Remaining(), "an empty final frame")
}

func TestMessageReaderReset(t *testing.T) {
	m := &frame.MessageReader{Server: true, Rsv: frame.Rsv1, Limit: 10, MaxFragments: 3}
	br := bufio.NewReader(strings.NewReader(""))
	m.Reset(br)
	assert.True(t, m.Server)
	assert.Equal(t, frame.Rsv1, m.Rsv)
	assert.Equal(t, int64(10), m.Limit)
	assert.Equal(t, 3, m.MaxFragments)
	assert.Same(t, br, m.Buffered())

	// A message left open is forgotten.
	m.Reset(bufio.NewReader(strings.NewReader(encode(true, fr{op: frame.OpText, payload: "abc"}))))
	_, err := m.Next()
	require.NoError(t, err)
	m.Reset(bufio.NewReader(strings.NewReader(encode(true, fr{fin: true, op: frame.OpBinary, payload: "new"}))))
	h, err := m.Next()
	require.NoError(t, err)
	assert.Equal(t, frame.OpBinary, h.Opcode)
	got, err := io.ReadAll(m)
	require.NoError(t, err)
	assert.Equal(t, "new", string(got))
}

// TestMessageReaderAllocs reads a steady stream of messages, fragmented
// and with control frames, into a reused buffer without allocating.
func TestMessageReaderAllocs(t *testing.T) {
	for _, server := range []bool{false, true} {
		t.Run(fmt.Sprintf("server=%v", server), func(t *testing.T) {
			wire := []byte(resumeStream(2, server))
			rd := bytes.NewReader(nil)
			br := bufio.NewReader(rd)
			m := &frame.MessageReader{Server: server, Limit: 1 << 20}
			var controls int
			m.Control = func(h frame.Header, p []byte) error {
				controls++
				return nil
			}
			buf := make([]byte, 1000)
			var msgs, total int
			var failure error
			allocs := testing.AllocsPerRun(100, func() {
				rd.Reset(wire)
				br.Reset(rd)
				m.Reset(br)
				for {
					if _, err := m.Next(); err != nil {
						if err != io.EOF {
							failure = err
						}
						return
					}
					msgs++
					for {
						n, err := m.Read(buf)
						total += n
						if err == io.EOF {
							break
						}
						if err != nil {
							failure = err
							return
						}
					}
				}
			})
			require.NoError(t, failure)
			require.Zero(t, allocs)
			assert.Equal(t, 101*60, msgs, "every message read")
			assert.Positive(t, controls)
			assert.Positive(t, total)
		})
	}
}
