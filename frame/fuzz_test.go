package frame_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/ab7c482b/websocket/frame"
)

func FuzzParseHeader(f *testing.F) {
	for _, tc := range headerTests {
		f.Add([]byte(tc.wire)) // every row of the codec table
	}
	f.Add([]byte{})                                                           // nothing: needs more
	f.Add([]byte("\x81"))                                                     // one byte: needs more
	f.Add([]byte("\x81\x05Hello"))                                            // RFC 6455 §5.7 text with its payload after the header
	f.Add([]byte("\x82\x7e\x00\x05"))                                         // 126 with a 16-bit value of 5: non-minimal, must be rejected
	f.Add([]byte("\x82\x7f\x00\x00\x00\x00\x00\x00\xff\xff"))                 // 127 with a 16-bit value: non-minimal, must be rejected
	f.Add([]byte("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00"))                 // 64-bit length with the top bit set
	f.Add([]byte("\x89\x7e\x00\x7e"))                                         // ping of 126 bytes: control frames stop at 125
	f.Add([]byte("\x09\x00"))                                                 // ping without FIN: control frames are never fragmented
	f.Add([]byte("\x83\x00"))                                                 // reserved opcode 3
	f.Add([]byte("\x8f\x00"))                                                 // reserved control opcode 0xF
	f.Add([]byte("\xf2\xff\x00\x00\x00\x00\x00\x01\x00\x00\x01\x02\x03\x04")) // every RSV bit and the 14-byte maximum
	f.Add([]byte("\x81\xfe\x01"))                                             // masked 16-bit length cut short

	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := frame.ParseHeader(b)
		if err != nil {
			if n != 0 || h != (frame.Header{}) {
				t.Fatalf("error %v with n=%d and header %+v", err, n, h)
			}
			var pe *frame.ProtocolError
			switch {
			case errors.Is(err, io.ErrUnexpectedEOF):
				if len(b) >= frame.MaxHeaderSize {
					t.Fatalf("%d bytes reported short", len(b))
				}
			case errors.As(err, &pe):
				if pe.Code != frame.CloseProtocolError {
					t.Fatalf("header error with code %v", pe.Code)
				}
			default:
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if n < 2 || n > frame.MaxHeaderSize || n > len(b) {
			t.Fatalf("n = %d for %d bytes", n, len(b))
		}
		// RFC 6455 §5.2: lengths are minimal, so encoding is unique.
		if got := frame.AppendHeader(nil, h); !bytes.Equal(got, b[:n]) {
			t.Fatalf("AppendHeader(%+v) = %x, parsed from %x", h, got, b[:n])
		}
		if h.Length < 0 || h.Opcode.IsReserved() || h.Rsv&^(frame.Rsv1|frame.Rsv2|frame.Rsv3) != 0 {
			t.Fatalf("bad header %+v", h)
		}
		if h.Opcode.IsControl() && (!h.Fin || h.Length > frame.MaxControlPayload) {
			t.Fatalf("bad control header %+v", h)
		}
		// Every cut of the header asks for more.
		for i := range n {
			if _, _, err := frame.ParseHeader(b[:i]); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("prefix of %d of %d bytes: %v", i, n, err)
			}
		}
	})
}

// fuzzReaderConfig bounds what FuzzReader's streams may cost.
func fuzzReaderConfig(server bool) readerConfig {
	return readerConfig{server: server, rsv: frame.Rsv1, limit: 1000, maxFrags: 20}
}

// readChecked reads all of r with a MessageReader, failing t if a message
// grows past the limit or a control frame breaks RFC 6455 §5.5.
func readChecked(t *testing.T, cfg readerConfig, r io.Reader) error {
	m := newMessageReader(cfg, r)
	m.Control = func(h frame.Header, p []byte) error {
		if !h.Opcode.IsControl() || h.Opcode.IsReserved() || !h.Fin || h.Rsv != 0 {
			t.Fatalf("Control got header %+v", h)
		}
		if len(p) > frame.MaxControlPayload || int64(len(p)) != h.Length {
			t.Fatalf("Control got %d bytes for header %+v", len(p), h)
		}
		return nil
	}
	buf := make([]byte, 300)
	for {
		h, err := m.Next()
		if err != nil {
			return err
		}
		if h.Opcode != frame.OpText && h.Opcode != frame.OpBinary {
			t.Fatalf("Next returned opcode %v", h.Opcode)
		}
		if h.Rsv&^cfg.rsv != 0 {
			t.Fatalf("Next returned RSV %#x with only %#x allowed", h.Rsv, cfg.rsv)
		}
		var total int64
		for {
			n, err := m.Read(buf)
			total += int64(n)
			if total > cfg.limit {
				t.Fatalf("message of more than %d bytes with Limit %d", total, cfg.limit)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("\x81\x05Hello"))                                // RFC 6455 §5.7 unmasked text, for the client role
	f.Add([]byte("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58")) // RFC 6455 §5.7 masked text, for the server role
	f.Add([]byte("\x01\x03Hel\x89\x02hi\x80\x02lo"))              // ping between fragments
	f.Add([]byte("\x01\x03Hel"))                                  // cut between fragments: unexpected EOF
	f.Add([]byte("\x80\x02lo"))                                   // continuation with no message open
	f.Add([]byte("\x01\x03Hel\x81\x02lo"))                        // new message while one is open
	f.Add([]byte("\xc1\x05Hello\x41\x01a\xc0\x01b"))              // RSV1 allowed on first frames, not continuations
	f.Add([]byte("\x82\x7f\x00\x00\x01\x00\x00\x00\x00\x00"))     // 1 TiB header: over the limit before any payload
	f.Add([]byte("\x02\x7e\x01\xf4" + strings.Repeat("a", 500) +
		"\x80\x7e\x01\xf5" + strings.Repeat("b", 501))) // fragments adding up past the limit
	f.Add([]byte(strings.Repeat("\x00\x00", 25)))                      // many empty continuations
	f.Add([]byte("\x02\x00" + strings.Repeat("\x00\x00", 25)))         // more fragments than MaxFragments
	f.Add([]byte("\x89\x7d" + strings.Repeat("p", 125)))               // longest control payload
	f.Add([]byte("\x89\x80\x01\x02\x03\x04\x8a\x81\x01\x02\x03\x04x")) // masked controls, for the server role
	f.Add([]byte(resumeStream(3, false)[:600]))                        // a realistic stream, cut
	f.Add([]byte(resumeStream(4, true)[:600]))                         // the same masked

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, server := range []bool{false, true} {
			cfg := fuzzReaderConfig(server)
			err := readChecked(t, cfg, bytes.NewReader(data))
			var pe *frame.ProtocolError
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &pe) {
				t.Fatalf("server=%v: unexpected error %v", server, err)
			}

			// Short reads and resumed timeouts change nothing.
			wantLog, wantErr := drain(newMessageReader(cfg, bytes.NewReader(data)), 4096, nil, nil)
			if wantErr == io.EOF && !wholeMessages(data) {
				t.Fatalf("server=%v: io.EOF for a stream that ends inside a frame or message", server)
			}
			log, err := drain(newMessageReader(cfg, iotest.OneByteReader(bytes.NewReader(data))), 3, nil, nil)
			if !equalLogs(wantLog, log) || err != wantErr {
				t.Fatalf("server=%v one-byte reads:\n%q %v\nwant\n%q %v", server, log, err, wantLog, wantErr)
			}
			fl := &flakyReader{r: iotest.HalfReader(bytes.NewReader(data)), k: 3}
			retry := func(err error) bool { return errors.Is(err, errTimeout) }
			log, err = drain(newMessageReader(cfg, fl), 5, nil, retry)
			if !equalLogs(wantLog, log) || err != wantErr {
				t.Fatalf("server=%v with timeouts:\n%q %v\nwant\n%q %v", server, log, err, wantLog, wantErr)
			}
		}
	})
}

// wholeMessages reports whether b splits into whole frames, the last data
// frame with FIN set: a stream that may end with io.EOF.
func wholeMessages(b []byte) bool {
	open := false
	for len(b) > 0 {
		h, n, err := frame.ParseHeader(b)
		if err != nil || int64(len(b)-n) < h.Length {
			return false
		}
		if !h.Opcode.IsControl() {
			open = !h.Fin
		}
		b = b[n+int(h.Length):]
	}
	return !open
}

func equalLogs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzMask(f *testing.F) {
	f.Add([]byte("Hello"), uint32(0x3d21fa37), uint8(0), uint64(1))                  // RFC 6455 §5.7 key 37 fa 21 3d
	f.Add([]byte{}, uint32(1), uint8(3), uint64(2))                                  // empty payload
	f.Add([]byte("1234567"), uint32(0xdeadbeef), uint8(1), uint64(3))                // under 16 bytes: 4-, 2- and 1-byte steps only
	f.Add(bytes.Repeat([]byte{0xff}, 33), uint32(0x01020304), uint8(2), uint64(4))   // one 32-byte vector, one tail byte
	f.Add(bytes.Repeat([]byte("abc"), 100), uint32(0), uint8(255), uint64(5))        // zero key is the identity; pos past 3; aligned vectors
	f.Add(bytes.Repeat([]byte{0x5a}, 1000), uint32(0xffffffff), uint8(7), uint64(6)) // aligned body between unaligned ends
	f.Add(bytes.Repeat([]byte{0xa5}, 255), uint32(0x80402010), uint8(1), uint64(63)) // longest before aligned vectors, every step, odd address

	f.Fuzz(func(t *testing.T, data []byte, k uint32, pos uint8, seed uint64) {
		key := [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
		p := int(pos)

		want := bytes.Clone(data)
		wantPos := maskRef(key, p%4, want)

		// One shot by Mask and by every routine it may run, at an
		// alignment chosen by seed, between guard bytes.
		off := int(seed % 64)
		backing := make([]byte, off+len(data)+8)
		one := backing[off : off+len(data)]
		for _, impl := range frame.MaskImpls {
			copy(one, data)
			if got := impl.Fn(key, p, one); got != wantPos {
				t.Fatalf("%s returned %d, want %d", impl.Name, got, wantPos)
			}
			if !bytes.Equal(want, one) {
				t.Fatalf("one-shot %s differs from the byte loop", impl.Name)
			}
		}
		copy(one, data)
		if got := frame.Mask(key, p, one); got != wantPos {
			t.Fatalf("Mask returned %d, want %d", got, wantPos)
		}
		if !bytes.Equal(want, one) {
			t.Fatalf("one-shot Mask differs from the byte loop")
		}
		if !bytes.Equal(backing[:off], make([]byte, off)) || !bytes.Equal(backing[off+len(data):], make([]byte, 8)) {
			t.Fatalf("masking wrote outside its slice")
		}

		// Chunked, carrying the position.
		r := rand.New(rand.NewPCG(seed, 0))
		chunked := bytes.Clone(data)
		cp := p
		for rest := chunked; len(rest) > 0; {
			n := min(len(rest), r.IntN(40))
			cp = frame.Mask(key, cp, rest[:n])
			rest = rest[n:]
		}
		if !bytes.Equal(one, chunked) {
			t.Fatalf("chunked Mask differs from one-shot")
		}
		if cp != wantPos && len(data) > 0 {
			t.Fatalf("chunked position %d, want %d", cp, wantPos)
		}

		// Twice is the identity.
		frame.Mask(key, p, one)
		if !bytes.Equal(data, one) {
			t.Fatalf("masking twice did not restore the input")
		}
	})
}

func FuzzClose(f *testing.F) {
	f.Add([]byte{})                                     // no status: CloseNoStatus
	f.Add([]byte("\x03"))                               // one byte: 1002
	f.Add([]byte("\x03\xe8"))                           // 1000 without a reason
	f.Add([]byte("\x03\xe8bye"))                        // 1000 with a reason
	f.Add([]byte("\x03\xed"))                           // 1005 must not be sent: 1002
	f.Add([]byte("\x13\x88"))                           // 5000 is undefined: 1002
	f.Add([]byte("\x0f\xa0\xed\xa0\x80"))               // private code, surrogate in the reason: 1007
	f.Add([]byte("\x03\xe9" + strings.Repeat("€", 41))) // 2 + 123 bytes: a full control frame
	f.Add([]byte("\x03\xe9" + strings.Repeat("€", 50))) // longer than a control frame allows

	f.Fuzz(func(t *testing.T, p []byte) {
		code, reason, err := frame.ParseClose(p)
		if err != nil {
			var pe *frame.ProtocolError
			if !errors.As(err, &pe) || (pe.Code != frame.CloseProtocolError && pe.Code != frame.CloseInvalidPayload) {
				t.Fatalf("ParseClose(%x): %v", p, err)
			}
		} else {
			if code != frame.CloseNoStatus && !code.Valid() {
				t.Fatalf("ParseClose(%x) accepted code %d", p, code)
			}
			if !utf8.ValidString(reason) {
				t.Fatalf("ParseClose(%x) accepted reason %q", p, reason)
			}
			q := frame.AppendClose(nil, code, reason)
			if len(p) <= frame.MaxControlPayload && !bytes.Equal(p, q) {
				// Within a control frame the encoding is unique.
				t.Fatalf("AppendClose(%d, %q) = %x, parsed from %x", code, reason, q, p)
			}
			code2, reason2, err := frame.ParseClose(q)
			if err != nil || code2 != code || !strings.HasPrefix(reason, reason2) {
				t.Fatalf("round trip of %x: %d %q %v", p, code2, reason2, err)
			}
			if len(p) <= frame.MaxControlPayload && reason2 != reason {
				t.Fatalf("round trip of %x changed the reason to %q", p, reason2)
			}
		}

		// Any reason fits a control frame, and a UTF-8 one keeps as many
		// whole runes as fit.
		q := frame.AppendClose(nil, frame.CloseGoingAway, string(p))
		if len(q) > frame.MaxControlPayload {
			t.Fatalf("AppendClose made %d bytes", len(q))
		}
		if utf8.Valid(p) {
			code, reason, err := frame.ParseClose(q)
			if err != nil || code != frame.CloseGoingAway || !strings.HasPrefix(string(p), reason) {
				t.Fatalf("AppendClose of %q: %d %q %v", p, code, reason, err)
			}
			if rest := string(p[len(reason):]); rest != "" {
				_, size := utf8.DecodeRuneInString(rest)
				if 2+len(reason)+size <= frame.MaxControlPayload {
					t.Fatalf("AppendClose cut %q to %q, leaving room", p, reason)
				}
			}
		}
	})
}

// validStreamPrefix reports whether p can begin valid UTF-8: whole runes,
// then at most one incomplete sequence that is valid so far. It leans on
// utf8.FullRune, which reports an invalid sequence as a full rune.
func validStreamPrefix(p []byte) bool {
	for len(p) > 0 {
		if !utf8.FullRune(p) {
			return true
		}
		r, size := utf8.DecodeRune(p)
		if r == utf8.RuneError && size == 1 {
			return false
		}
		p = p[size:]
	}
	return true
}

func FuzzUTF8(f *testing.F) {
	for _, tc := range utf8Tests {
		f.Add([]byte(tc.s), uint64(len(tc.s))) // every case of TestUTF8
	}
	f.Add([]byte("\xf4\x90\x80\x80"), uint64(1)) // above U+10FFFF: fails at the second byte
	f.Add([]byte("\xed\xa0\x80"), uint64(2))     // surrogate: fails at the second byte
	f.Add([]byte("\xf0\x9f\x98\x80"), uint64(3)) // emoji split anywhere
	f.Add([]byte("\xef\xbf\xbd"), uint64(4))     // U+FFFD itself is valid

	f.Fuzz(func(t *testing.T, b []byte, seed uint64) {
		want := utf8.Valid(b)

		// Arbitrary pieces: each Write says whether the stream so far can
		// still be valid, and the end says whether it is.
		r := rand.New(rand.NewPCG(seed, 1))
		var v frame.UTF8
		ok := true
		for end := 0; ok && end < len(b); {
			n := min(len(b)-end, r.IntN(8))
			ok = v.Write(b[end : end+n])
			end += n
			if ok != validStreamPrefix(b[:end]) {
				t.Fatalf("Write ending at %d of %x = %v", end, b, ok)
			}
		}
		if got := ok && v.Done(); got != want {
			t.Fatalf("pieces of %x: %v, want %v", b, got, want)
		}

		// Byte by byte: the first false is at the first byte no valid
		// stream could continue with.
		v.Reset()
		ok = true
		for i := 0; ok && i < len(b); i++ {
			ok = v.Write(b[i : i+1])
			if ok != validStreamPrefix(b[:i+1]) {
				t.Fatalf("byte %d of %x: Write = %v", i, b, ok)
			}
		}
		if got := ok && v.Done(); got != want {
			t.Fatalf("bytes of %x: %v, want %v", b, got, want)
		}
		if frame.ValidUTF8(b) != want {
			t.Fatalf("ValidUTF8(%x) disagrees with utf8.Valid", b)
		}
	})
}
