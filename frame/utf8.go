package frame

import "unicode/utf8"

// UTF8 validates a text stream that arrives in pieces, as RFC 6455 §8.1
// requires of text messages. It reports an invalid byte as soon as that
// byte is seen, even in the middle of a sequence split across pieces, so a
// connection can be failed fast (Autobahn's "fail fast" cases).
//
// The zero value is ready to use. A UTF8 is not safe for concurrent use.
type UTF8 struct {
	pend [4]byte // start of a sequence cut off by the end of the last piece
	n    int     // bytes in pend
}

// Reset forgets any partial sequence.
func (v *UTF8) Reset() { v.n = 0 }

// Write checks the next piece of the stream. It returns false if the
// stream so far cannot be the start of valid UTF-8.
func (v *UTF8) Write(p []byte) bool {
	if v.n > 0 {
		need := seqLen(v.pend[0])
		k := min(need-v.n, len(p))
		v.n += copy(v.pend[v.n:], p[:k])
		p = p[k:]
		if v.n < need {
			return validPrefix(v.pend[:v.n])
		}
		v.n = 0
		if !utf8.Valid(v.pend[:need]) {
			return false
		}
	}
	cut := tailStart(p)
	if !utf8.Valid(p[:cut]) {
		return false
	}
	tail := p[cut:]
	if !validPrefix(tail) {
		return false
	}
	v.n = copy(v.pend[:], tail)
	return true
}

// Done reports whether the stream ended on a sequence boundary, and resets
// v for the next stream. Call it at the end of each message.
func (v *UTF8) Done() bool {
	ok := v.n == 0
	v.n = 0
	return ok
}

// ValidUTF8 reports whether b is entirely valid UTF-8.
func ValidUTF8(b []byte) bool { return utf8.Valid(b) }

// seqLen returns the length of the sequence that lead byte b starts, or 0
// if b cannot start one.
func seqLen(b byte) int {
	switch {
	case b < 0x80:
		return 1
	case b >= 0xC2 && b <= 0xDF:
		return 2
	case b >= 0xE0 && b <= 0xEF:
		return 3
	case b >= 0xF0 && b <= 0xF4:
		return 4
	}
	return 0
}

// tailStart returns where an incomplete sequence at the end of p begins,
// or len(p) if p ends on a boundary (or so badly that utf8.Valid will
// reject what comes before).
func tailStart(p []byte) int {
	for i := len(p) - 1; i >= 0 && i >= len(p)-3; i-- {
		b := p[i]
		if b&0xC0 == 0x80 {
			continue // continuation byte: keep looking for the lead
		}
		if n := seqLen(b); n > len(p)-i {
			return i
		}
		break
	}
	return len(p)
}

// validPrefix reports whether p, shorter than a whole sequence, can still
// grow into a valid one: the second byte's range depends on the lead
// (RFC 3629 §4), later bytes are plain continuations.
func validPrefix(p []byte) bool {
	if len(p) == 0 {
		return true
	}
	if seqLen(p[0]) <= len(p) {
		return false
	}
	if len(p) == 1 {
		return true // a lead byte alone: seqLen has judged it
	}
	lo, hi := byte(0x80), byte(0xBF)
	switch p[0] {
	case 0xE0:
		lo = 0xA0
	case 0xED:
		hi = 0x9F
	case 0xF0:
		lo = 0x90
	case 0xF4:
		hi = 0x8F
	}
	if p[1] < lo || p[1] > hi {
		return false
	}
	for _, b := range p[2:] {
		if b&0xC0 != 0x80 {
			return false
		}
	}
	return true
}
