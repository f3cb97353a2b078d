package rawws

import (
	"bufio"
	crand "crypto/rand"
	"io"

	"github.com/ab7c482b/websocket/frame"
)

// AppendFrame appends a frame with any FIN, RSV bits, opcode and payload
// to dst, its length in the minimal form, masked with a fresh random key
// if mask is set (RFC 6455 §5.3: a client masks every frame).
func AppendFrame(dst []byte, fin bool, rsv byte, op frame.Opcode, payload []byte, mask bool) []byte {
	h := frame.Header{Fin: fin, Rsv: rsv, Opcode: op, Masked: mask, Length: int64(len(payload))}
	if mask {
		crand.Read(h.Mask[:])
	}
	dst = frame.AppendHeader(dst, h)
	start := len(dst)
	dst = append(dst, payload...)
	if mask {
		frame.Mask(h.Mask, 0, dst[start:])
	}
	return dst
}

// ReadHeader reads one frame header from br. A header that breaks RFC
// 6455 §5.2 or §5.5 gives frame.ParseHeader's *frame.ProtocolError, with
// the header left unread; a stream that ends inside it gives
// io.ErrUnexpectedEOF or the read error.
func ReadHeader(br *bufio.Reader) (frame.Header, error) {
	// Peek one more byte at a time until ParseHeader has the whole
	// header: at most MaxHeaderSize bytes, so br's buffer always holds it.
	for n := 2; ; n++ {
		b, err := br.Peek(n)
		if err != nil {
			if err == io.EOF && n > 2 {
				err = io.ErrUnexpectedEOF
			}
			return frame.Header{}, err
		}
		h, used, err := frame.ParseHeader(b)
		if err == io.ErrUnexpectedEOF {
			continue
		}
		if err == nil {
			br.Discard(used)
		}
		return h, err
	}
}
