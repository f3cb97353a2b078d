package ws

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/ab7c482b/websocket/frame"
)

// FuzzInflate feeds arbitrary bytes to the decompressor as a compressed
// message's payload, whole and streamed, with and without context
// takeover. Whatever a peer sends, the result is the message, 1007 or
// 1009 (RFC 7692 §8), never a panic or more output than the limit.
func FuzzInflate(f *testing.F) {
	for _, p := range [][]byte{
		nil, []byte("a"), []byte("hello, hello, hello"),
		bytes.Repeat([]byte("abc"), 5000), make([]byte, 70000),
	} {
		f.Add(compressMessage(p, 1), false)
		f.Add(compressMessage(p, 9), true)
	}
	f.Add([]byte{0x00}, false)
	f.Add([]byte{0xff, 0xff, 0xff}, false)
	f.Add([]byte{0x01, 0x03, 0x00, 0xfc, 0xff, 'a', 'b', 'c'}, true) // a final stored block
	f.Fuzz(func(t *testing.T, z []byte, takeover bool) {
		const limit = 1 << 16
		whole := inflater{takeover: takeover}
		p, err := whole.inflateAll(nil, z, limit)
		streamed, serr := inflateStream(&inflater{takeover: takeover}, z, limit)
		if err != nil {
			var pe *frame.ProtocolError
			if !errors.As(err, &pe) || pe.Code != frame.CloseInvalidPayload && pe.Code != frame.CloseMessageTooBig {
				t.Fatalf("error %v is neither 1007 nor 1009", err)
			}
			if serr == nil {
				t.Fatalf("streamed decompression succeeded where whole failed with %v", err)
			}
			return
		}
		if serr != nil || !bytes.Equal(p, streamed) {
			t.Fatalf("streamed decompression disagrees: %v", serr)
		}
		if len(p) > limit {
			t.Fatalf("%d bytes out, past the limit of %d", len(p), limit)
		}
		// Our own compressor's output of the message reads back the same.
		q, err := (&inflater{}).inflateAll(nil, compressMessage(p, 1), 0)
		if err != nil || !bytes.Equal(p, q) {
			t.Fatalf("round trip of %d bytes: %v", len(p), err)
		}
		if takeover && len(whole.dict) > deflateWindowBytes {
			t.Fatalf("dictionary of %d bytes", len(whole.dict))
		}
	})
}

// inflateStream decompresses z in small reads, as Conn.Reader does.
func inflateStream(in *inflater, z []byte, limit int) ([]byte, error) {
	in.start(bytes.NewReader(z))
	var out []byte
	buf := make([]byte, 100)
	for {
		n, err := in.read(buf)
		out = append(out, buf[:n]...)
		if len(out) > limit {
			in.finish()
			return nil, frame.ErrMessageTooBig
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
