package redis

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// appendReply is the reference encoder: the canonical wire form of r.
func appendReply(dst []byte, r Reply) []byte {
	dst = append(dst, byte(r.Kind))
	switch r.Kind {
	case KindString, KindError:
		dst = append(dst, r.Str...)
	case KindInt:
		dst = strconv.AppendInt(dst, r.Int, 10)
	case KindBulk:
		dst = strconv.AppendInt(dst, int64(len(r.Str)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, r.Str...)
	case KindNull:
		dst = append(dst[:len(dst)-1], "$-1"...)
	case KindArray:
		dst = strconv.AppendInt(dst, int64(len(r.Elems)), 10)
		for _, e := range r.Elems {
			dst = append(dst, '\r', '\n')
			dst = appendReply(dst, e)
			dst = dst[:len(dst)-2]
		}
	}
	return append(dst, '\r', '\n')
}

// FuzzReadReply checks that ReadReply never panics, that a reply
// depends only on the bytes it consumed, and that whatever it reads
// survives a round trip through the canonical encoding unchanged.
func FuzzReadReply(f *testing.F) {
	for _, tc := range replyCases {
		f.Add([]byte(tc.wire))
	}
	f.Add([]byte(":+5\r\n"))                        // a sign the canonical form drops
	f.Add([]byte("$-1\r\n*-1\r\n"))                 // both nulls
	f.Add([]byte("*2147483647\r\n"))                // a huge array that never comes
	f.Add([]byte("$536870912\r\nabc"))              // a huge bulk that never comes
	f.Add([]byte("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n")) // nesting
	f.Add([]byte("$3\r\nabc\n\n"))                  // bulk ended by LF LF
	f.Fuzz(func(t *testing.T, wire []byte) {
		src := &countingReader{r: bytes.NewReader(wire)}
		br := bufio.NewReaderSize(src, 64)
		r, err := ReadReply(br)
		if err != nil {
			return
		}
		consumed := src.n - br.Buffered()
		alone, err := ReadReply(bufio.NewReader(bytes.NewReader(wire[:consumed])))
		require.NoError(t, err, "the %d bytes consumed of %q, alone", consumed, wire)
		require.Equal(t, normalize(r), normalize(alone))

		canon := appendReply(nil, r)
		again, err := ReadReply(bufio.NewReader(bytes.NewReader(canon)))
		require.NoError(t, err, "the canonical form of %q", wire)
		require.Equal(t, normalize(r), normalize(again))
		require.Equal(t, canon, appendReply(nil, again))
	})
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// normalize makes empty arrays compare equal however they were
// allocated.
func normalize(r Reply) Reply {
	if r.Kind == KindArray {
		elems := make([]Reply, len(r.Elems))
		for i, e := range r.Elems {
			elems[i] = normalize(e)
		}
		r.Elems = elems
	}
	return r
}
