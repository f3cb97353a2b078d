package handshake

import (
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
)

// Header keys in canonical form, so lookups index the map directly instead
// of canonicalizing on every call. The wire spelling (Sec-WebSocket-Key) is
// used when writing.
const (
	hdrUpgrade    = "Upgrade"
	hdrConnection = "Connection"
	hdrKey        = "Sec-Websocket-Key"
	hdrVersion    = "Sec-Websocket-Version"
	hdrAccept     = "Sec-Websocket-Accept"
	hdrProtocol   = "Sec-Websocket-Protocol"
	hdrExtensions = "Sec-Websocket-Extensions"
	hdrOrigin     = "Origin"
)

// tokenChars marks the tchar bytes of RFC 7230 §3.2.6 (RFC 2616 §2.2 token:
// any CHAR except CTLs and separators).
var tokenChars = [256]bool{
	'!': true, '#': true, '$': true, '%': true, '&': true, '\'': true,
	'*': true, '+': true, '-': true, '.': true, '^': true, '_': true,
	'`': true, '|': true, '~': true,
	'0': true, '1': true, '2': true, '3': true, '4': true,
	'5': true, '6': true, '7': true, '8': true, '9': true,
	'A': true, 'B': true, 'C': true, 'D': true, 'E': true, 'F': true,
	'G': true, 'H': true, 'I': true, 'J': true, 'K': true, 'L': true,
	'M': true, 'N': true, 'O': true, 'P': true, 'Q': true, 'R': true,
	'S': true, 'T': true, 'U': true, 'V': true, 'W': true, 'X': true,
	'Y': true, 'Z': true,
	'a': true, 'b': true, 'c': true, 'd': true, 'e': true, 'f': true,
	'g': true, 'h': true, 'i': true, 'j': true, 'k': true, 'l': true,
	'm': true, 'n': true, 'o': true, 'p': true, 'q': true, 'r': true,
	's': true, 't': true, 'u': true, 'v': true, 'w': true, 'x': true,
	'y': true, 'z': true,
}

// isToken reports whether s is a non-empty HTTP token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChars[s[i]] {
			return false
		}
	}
	return true
}

// validFieldValue reports whether s can be written as a header value without
// changing the message's framing: no CR, LF, NUL or other control bytes
// except HTAB (RFC 7230 §3.2).
func validFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// trimOWS strips the optional whitespace (SP and HTAB) that RFC 7230 §3.2.3
// allows around list elements and values.
func trimOWS(s string) string {
	return strings.Trim(s, " \t")
}

// hasToken reports whether any comma-separated element of any of values is
// token, compared case-insensitively. It makes one pass over the input.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for v != "" {
			var elem string
			elem, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(trimOWS(elem), token) {
				return true
			}
		}
	}
	return false
}

// listElements returns the non-empty, trimmed comma-separated elements of
// all of values, in order.
func listElements(values []string) []string {
	var out []string
	for _, v := range values {
		for v != "" {
			var elem string
			elem, v, _ = strings.Cut(v, ",")
			if elem = trimOWS(elem); elem != "" {
				out = append(out, elem)
			}
		}
	}
	return out
}

// checkHeader validates extra headers supplied by the caller before they
// are written onto the wire: names must be tokens, values must not break
// the framing, and none may be one of reserved (canonical keys), which the
// handshake writes itself. It returns "" or the reason h is refused.
func checkHeader(h http.Header, reserved []string) string {
	for name, values := range h {
		if !isToken(name) {
			return "invalid header name " + quote(name)
		}
		canon := textproto.CanonicalMIMEHeaderKey(name)
		if slices.Contains(reserved, canon) {
			return "header " + canon + " is set by the handshake itself"
		}
		for _, v := range values {
			if !validFieldValue(v) {
				return "invalid value for header " + canon
			}
		}
	}
	return ""
}

// quote returns a Go-quoted form of peer input, safe to put in an error
// reason that may be sent back in a response body. Only the first 32 bytes
// are kept, so the result is at most 4*32+5 bytes however the input is
// escaped.
func quote(s string) string {
	const max = 32
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
