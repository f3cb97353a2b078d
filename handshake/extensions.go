package handshake

import (
	"net/http"
	"strconv"
	"strings"
)

// Extension is one entry of a Sec-WebSocket-Extensions header: an extension
// name and its parameters, as in RFC 6455 §9.1. An Extension is a plain
// value; it is safe for concurrent use as long as no one modifies it.
type Extension struct {
	Name   string
	Params []Param
}

// Param is one parameter of an [Extension]. HasValue tells a bare parameter
// ("client_max_window_bits") from one with a value
// ("client_max_window_bits=10"); Value is ignored when HasValue is false.
type Param struct {
	Name     string
	Value    string
	HasValue bool
}

// String returns e in header syntax, as [FormatExtensions] writes it.
func (e Extension) String() string {
	return string(appendExtension(nil, e))
}

// FormatExtensions renders exts as one Sec-WebSocket-Extensions header
// value, such as "a; x=1, b". A parameter value that is not a token is
// written as a quoted-string; RFC 6455 §9.1 requires the unquoted value to
// be a token, so a conforming peer rejects such a value. It returns "" for
// an empty list.
func FormatExtensions(exts []Extension) string {
	var b []byte
	for i, e := range exts {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendExtension(b, e)
	}
	return string(b)
}

func appendExtension(b []byte, e Extension) []byte {
	b = append(b, e.Name...)
	for _, p := range e.Params {
		b = append(b, "; "...)
		b = append(b, p.Name...)
		if !p.HasValue {
			continue
		}
		b = append(b, '=')
		if isToken(p.Value) {
			b = append(b, p.Value...)
			continue
		}
		b = append(b, '"')
		for i := 0; i < len(p.Value); i++ {
			if c := p.Value[i]; c == '"' || c == '\\' {
				b = append(b, '\\')
			}
			b = append(b, p.Value[i])
		}
		b = append(b, '"')
	}
	return b
}

// ParseExtensions parses every Sec-WebSocket-Extensions value in h, in
// order, following the grammar of RFC 6455 §9.1:
//
//	extension-list  = 1#extension
//	extension       = extension-token *( ";" extension-param )
//	extension-param = token [ "=" (token | quoted-string) ]
//
// Several header lines are equivalent to one comma-separated list (§9.1).
// Optional whitespace is allowed around ",", ";" and "="; empty list
// elements are skipped, as RFC 7230 §7 asks of recipients. A quoted value
// is unescaped and must then be a token (§9.1). The result is nil when h
// offers no extension.
//
// Input that does not match the grammar is an error; RFC 6455 §9.1 requires
// the recipient to fail the connection. Parsing takes time linear in the
// size of the header.
func ParseExtensions(h http.Header) ([]Extension, error) {
	var exts []Extension
	for _, v := range h[hdrExtensions] {
		var err error
		if exts, err = parseExtensionList(exts, v); err != nil {
			return nil, err
		}
	}
	return exts, nil
}

// extensionError is a Sec-WebSocket-Extensions value that does not match
// the grammar of RFC 6455 §9.1.
type extensionError struct {
	detail string
}

func (e *extensionError) Error() string {
	return "handshake: malformed Sec-WebSocket-Extensions: " + e.detail
}

func (e *extensionError) reason() string {
	return "malformed Sec-WebSocket-Extensions: " + e.detail
}

func malformed(what string, off int) error {
	return &extensionError{detail: what + " at offset " + strconv.Itoa(off)}
}

// parseExtensionList appends the extensions of one header value to exts.
// It is a single left-to-right scan: each byte is looked at a bounded
// number of times.
func parseExtensionList(exts []Extension, v string) ([]Extension, error) {
	i := 0
	for {
		i = skipOWS(v, i)
		if i == len(v) {
			return exts, nil
		}
		if v[i] == ',' {
			i++ // empty list element
			continue
		}
		var e Extension
		if e.Name, i = scanToken(v, i); e.Name == "" {
			return nil, malformed("expected extension name", i)
		}
		for {
			i = skipOWS(v, i)
			if i == len(v) || v[i] == ',' {
				break
			}
			if v[i] != ';' {
				return nil, malformed("expected ';' or ','", i)
			}
			var p Param
			if p.Name, i = scanToken(v, skipOWS(v, i+1)); p.Name == "" {
				return nil, malformed("expected parameter name", i)
			}
			if j := skipOWS(v, i); j < len(v) && v[j] == '=' {
				var err error
				if p.Value, i, err = scanValue(v, skipOWS(v, j+1)); err != nil {
					return nil, err
				}
				p.HasValue = true
			}
			e.Params = append(e.Params, p)
		}
		exts = append(exts, e)
	}
}

// scanValue reads a parameter value at v[i:]: a token, or a quoted-string
// whose unescaped content is a token (RFC 6455 §9.1).
func scanValue(v string, i int) (string, int, error) {
	if i == len(v) || v[i] != '"' {
		tok, j := scanToken(v, i)
		if tok == "" {
			return "", j, malformed("expected parameter value", j)
		}
		return tok, j, nil
	}
	start := i
	i++
	var sb strings.Builder
	escaped := false // whether sb holds the value so far
	for ; i < len(v); i++ {
		switch c := v[i]; c {
		case '"':
			val := v[start+1 : i]
			if escaped {
				val = sb.String()
			}
			if !isToken(val) {
				return "", i, malformed("quoted parameter value is not a token", start)
			}
			return val, i + 1, nil
		case '\\':
			if i+1 == len(v) {
				return "", i, malformed("unterminated quoted-string", start)
			}
			if !escaped {
				escaped = true
				sb.WriteString(v[start+1 : i])
			}
			i++
			sb.WriteByte(v[i])
		default:
			if escaped {
				sb.WriteByte(c)
			}
		}
	}
	return "", i, malformed("unterminated quoted-string", start)
}

// scanToken returns the longest token at v[i:] and the offset after it.
func scanToken(v string, i int) (string, int) {
	j := i
	for j < len(v) && tokenChars[v[j]] {
		j++
	}
	return v[i:j], j
}

func skipOWS(v string, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	return i
}
