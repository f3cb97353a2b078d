package redis

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// A Kind is the type of a RESP2 reply, named by its first byte.
type Kind byte

// The kinds of reply. RESP2 has two nulls, "$-1" and "*-1"; both are
// KindNull.
const (
	KindString Kind = '+'
	KindError  Kind = '-'
	KindInt    Kind = ':'
	KindBulk   Kind = '$'
	KindArray  Kind = '*'
	KindNull   Kind = '_'
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "simple string"
	case KindError:
		return "error"
	case KindInt:
		return "integer"
	case KindBulk:
		return "bulk string"
	case KindArray:
		return "array"
	case KindNull:
		return "null"
	}
	return fmt.Sprintf("kind %q", byte(k))
}

// A Reply is one RESP2 reply. Str holds a simple string, an error or a
// bulk string; Int an integer; Elems the elements of an array.
type Reply struct {
	Kind  Kind
	Str   string
	Int   int64
	Elems []Reply
}

// Limits on what ReadReply accepts, so that a broken or hostile peer
// cannot make it allocate without bound.
const (
	// MaxBulk is Redis's own default proto-max-bulk-len.
	MaxBulk = 512 << 20
	// MaxDepth bounds the nesting of arrays; Redis replies nest a few
	// levels (XRANGE: entries, fields).
	MaxDepth = 32
	// maxPrealloc bounds what a declared length reserves before the data
	// arrives.
	maxPrealloc = 1024
	bulkChunk   = 64 << 10
)

// ErrProtocol reports a reply that is not valid RESP2. The connection it
// came from is out of step and must be closed.
var ErrProtocol = errors.New("redis: protocol error")

func protocolError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}

// ReadReply reads one reply from r. A reply cut short is
// io.ErrUnexpectedEOF; io.EOF means r ended between replies.
func ReadReply(r *bufio.Reader) (Reply, error) {
	return readReply(r, 0)
}

func readReply(r *bufio.Reader, depth int) (Reply, error) {
	line, err := readLine(r)
	if err != nil {
		if depth > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Reply{}, err
	}
	kind, rest := Kind(line[0]), line[1:]
	switch kind {
	case KindString, KindError:
		return Reply{Kind: kind, Str: string(rest)}, nil
	case KindInt:
		n, err := strconv.ParseInt(string(rest), 10, 64)
		if err != nil {
			return Reply{}, protocolError("bad integer %q", rest)
		}
		return Reply{Kind: KindInt, Int: n}, nil
	case KindBulk:
		n, err := parseLength(rest, MaxBulk)
		switch {
		case err != nil:
			return Reply{}, err
		case n < 0:
			return Reply{Kind: KindNull}, nil
		}
		return readBulk(r, n)
	case KindArray:
		n, err := parseLength(rest, 1<<31-1)
		switch {
		case err != nil:
			return Reply{}, err
		case n < 0:
			return Reply{Kind: KindNull}, nil
		}
		if depth >= MaxDepth {
			return Reply{}, protocolError("arrays nested deeper than %d", MaxDepth)
		}
		elems := make([]Reply, 0, min(n, maxPrealloc))
		for range n {
			e, err := readReply(r, depth+1)
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return Reply{}, err
			}
			elems = append(elems, e)
		}
		return Reply{Kind: KindArray, Elems: elems}, nil
	}
	return Reply{}, protocolError("unknown reply type %q", line[0])
}

// readLine returns a line without its "\r\n". The line is only valid
// until the next read from r.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return nil, protocolError("line longer than %d bytes", r.Size())
	case err == io.EOF && len(line) > 0:
		return nil, io.ErrUnexpectedEOF
	case err != nil:
		return nil, err
	case len(line) < 3 || line[len(line)-2] != '\r':
		return nil, protocolError("bad line %q", line)
	}
	return line[:len(line)-2], nil
}

// parseLength parses the length of a bulk string or array: -1 (null)
// to limit.
func parseLength(b []byte, limit int) (int, error) {
	n, err := strconv.Atoi(string(b))
	if err != nil || n < -1 || n > limit {
		return 0, protocolError("bad length %q", b)
	}
	return n, nil
}

// readBulk reads n bytes and their "\r\n". It grows its buffer by at
// most bulkChunk as data arrives, so a large length declared by a peer
// that then sends nothing costs little.
func readBulk(r *bufio.Reader, n int) (Reply, error) {
	want := n + 2
	buf := make([]byte, 0, min(want, bulkChunk))
	for len(buf) < want {
		chunk := min(want-len(buf), bulkChunk)
		buf = slices.Grow(buf, chunk)
		got, err := io.ReadFull(r, buf[len(buf):len(buf)+chunk])
		buf = buf[:len(buf)+got]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return Reply{}, err
		}
	}
	if buf[n] != '\r' || buf[n+1] != '\n' {
		return Reply{}, protocolError("bulk string of %d bytes not followed by CRLF", n)
	}
	return Reply{Kind: KindBulk, Str: string(buf[:n])}, nil
}

// AppendCommand appends args as a RESP2 command, an array of bulk
// strings, to dst.
func AppendCommand(dst []byte, args ...string) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// Text returns a simple or bulk string reply's text.
func (r Reply) Text() (string, error) {
	if r.Kind != KindString && r.Kind != KindBulk {
		return "", fmt.Errorf("redis: want a string reply, got %s", r.Kind)
	}
	return r.Str, nil
}

// Integer returns an integer reply's value.
func (r Reply) Integer() (int64, error) {
	if r.Kind != KindInt {
		return 0, fmt.Errorf("redis: want an integer reply, got %s", r.Kind)
	}
	return r.Int, nil
}

// An Error is an error reply from the server, such as
// "NOSCRIPT No matching script".
type Error string

func (e Error) Error() string { return "redis: " + string(e) }

// Code returns the error's first word, such as "NOSCRIPT" or "WRONGTYPE".
func (e Error) Code() string {
	code, _, _ := strings.Cut(string(e), " ")
	return code
}
