package frame_test

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/ab7c482b/websocket/frame"
)

// maskSizes run from a small text frame to 1 MiB.
var maskSizes = []int{16, 125, 1 << 10, 4 << 10, 64 << 10, 1 << 20}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// maskAligns place the buffer at the start of an allocation (which for
// these sizes is at least 16-byte aligned) and one byte past it.
var maskAligns = []struct {
	name string
	off  int
}{{"aligned", 0}, {"unaligned", 1}}

func BenchmarkMask(b *testing.B) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for _, align := range maskAligns {
		for _, n := range maskSizes {
			b.Run(align.name+"/"+sizeName(n), func(b *testing.B) {
				buf := make([]byte, n+align.off)[align.off:]
				b.ReportAllocs()
				b.SetBytes(int64(n))
				for b.Loop() {
					frame.Mask(key, 0, buf)
				}
			})
		}
	}
}

// BenchmarkMaskImpls runs each routine Mask may pick on this CPU, called
// through a func value, to compare them with each other.
func BenchmarkMaskImpls(b *testing.B) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for _, impl := range frame.MaskImpls {
		for _, align := range maskAligns {
			for _, n := range maskSizes {
				b.Run(impl.Name+"/"+align.name+"/"+sizeName(n), func(b *testing.B) {
					buf := make([]byte, n+align.off)[align.off:]
					b.ReportAllocs()
					b.SetBytes(int64(n))
					for b.Loop() {
						impl.Fn(key, 0, buf)
					}
				})
			}
		}
	}
}

// BenchmarkCopy is the ceiling for BenchmarkMask: memory bandwidth for
// the same sizes.
func BenchmarkCopy(b *testing.B) {
	for _, n := range maskSizes {
		b.Run(sizeName(n), func(b *testing.B) {
			src := make([]byte, n)
			dst := make([]byte, n)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				copy(dst, src)
			}
		})
	}
}

// headerForms are the header sizes of RFC 6455 §5.2: 7-bit, 16-bit and
// 64-bit lengths, and the longest with a masking key.
var headerForms = []struct {
	name string
	h    frame.Header
}{
	{"2B", frame.Header{Fin: true, Opcode: frame.OpText, Length: 125}},
	{"4B", frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 4096}},
	{"10B", frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 1 << 20}},
	{"14B-masked", frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: 1 << 20}},
}

func BenchmarkParseHeader(b *testing.B) {
	for _, hf := range headerForms {
		b.Run(hf.name, func(b *testing.B) {
			wire := frame.AppendHeader(nil, hf.h)
			b.ReportAllocs()
			b.SetBytes(int64(len(wire)))
			for b.Loop() {
				if _, _, err := frame.ParseHeader(wire); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendHeader(b *testing.B) {
	for _, hf := range headerForms {
		b.Run(hf.name, func(b *testing.B) {
			buf := make([]byte, 0, frame.MaxHeaderSize)
			b.ReportAllocs()
			b.SetBytes(int64(len(frame.AppendHeader(nil, hf.h))))
			for b.Loop() {
				buf = frame.AppendHeader(buf[:0], hf.h)
			}
		})
	}
}

// repeatReader returns the same bytes over and over, forever.
type repeatReader struct {
	b   []byte
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.b[r.off:])
	r.off = (r.off + n) % len(r.b)
	return n, nil
}

var streamSizes = []int{125, 4 << 10, 64 << 10}

// BenchmarkMessageReader reads one message per iteration from an endless
// stream of them, through a 4 KiB bufio.Reader into a 4 KiB buffer.
func BenchmarkMessageReader(b *testing.B) {
	for _, masked := range []bool{false, true} {
		for _, n := range streamSizes {
			name := "unmasked/" + sizeName(n)
			if masked {
				name = "masked/" + sizeName(n)
			}
			b.Run(name, func(b *testing.B) {
				wire := encode(masked, fr{fin: true, op: frame.OpBinary, payload: strings.Repeat("x", n)})
				m := &frame.MessageReader{Server: masked}
				m.Reset(bufio.NewReader(&repeatReader{b: []byte(wire)}))
				buf := make([]byte, 4<<10)
				b.ReportAllocs()
				b.SetBytes(int64(n))
				for b.Loop() {
					if _, err := m.Next(); err != nil {
						b.Fatal(err)
					}
					for {
						_, err := m.Read(buf)
						if err == io.EOF {
							break
						}
						if err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

func BenchmarkWriter(b *testing.B) {
	for _, masked := range []bool{false, true} {
		for _, n := range streamSizes {
			name := "unmasked/" + sizeName(n)
			if masked {
				name = "masked/" + sizeName(n)
			}
			b.Run(name, func(b *testing.B) {
				var fw frame.Writer
				fw.Reset(io.Discard, masked, 0)
				payload := make([]byte, n)
				h := frame.Header{Fin: true, Opcode: frame.OpBinary}
				// The first frame allocates the buffer and the key stream.
				if err := fw.WriteFrame(h, payload); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.SetBytes(int64(n))
				for b.Loop() {
					if err := fw.WriteFrame(h, payload); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkUTF8(b *testing.B) {
	texts := []struct {
		name string
		s    string
	}{
		{"ascii", strings.Repeat("The quick brown fox jumps over the lazy dog. ", 100)},
		{"mixed", strings.Repeat("Grüße, κόσμε, 世界, 😀! ", 100)},
	}
	for _, tx := range texts {
		p := []byte(tx.s)
		b.Run(tx.name, func(b *testing.B) {
			var v frame.UTF8
			b.ReportAllocs()
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if !v.Write(p) || !v.Done() {
					b.Fatal("invalid")
				}
			}
		})
		// The same text in 100-byte pieces, cutting runes.
		b.Run(tx.name+"/pieces", func(b *testing.B) {
			var v frame.UTF8
			b.ReportAllocs()
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				for rest := p; len(rest) > 0; {
					k := min(len(rest), 100)
					if !v.Write(rest[:k]) {
						b.Fatal("invalid")
					}
					rest = rest[k:]
				}
				if !v.Done() {
					b.Fatal("invalid")
				}
			}
		})
	}
}
