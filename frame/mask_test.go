package frame_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ab7c482b/websocket/frame"
)

// maskRef is the byte loop of RFC 6455 §5.3, "octet i of the transformed
// data is the XOR of octet i of the original data with octet at index
// i modulo 4 of the masking key", shifted by pos for a payload that is
// processed in chunks.
func maskRef(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)%4]
	}
	return (pos + len(b)) % 4
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func randKey(r *rand.Rand) [4]byte {
	v := r.Uint32()
	return [4]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
}

// TestMaskRFCExample masks "Hello" with the key of the RFC 6455 §5.7
// examples and gets the payload bytes printed there.
func TestMaskRFCExample(t *testing.T) {
	b := []byte("Hello")
	pos := frame.Mask(rfcKey, 0, b)
	assert.Equal(t, []byte("\x7f\x9f\x4d\x51\x58"), b)
	assert.Equal(t, 1, pos)
}

// maskLengths are every length up to 300, which covers each path and
// remainder of the vector loops, and larger ones around powers of two,
// RFC 6455 §5.2 length boundaries, and 1 MiB plus an odd tail.
func maskLengths(r *rand.Rand) []int {
	lengths := make([]int, 0, 340)
	for n := range 301 {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 383, 511, 512, 513, 1000, 1023, 1024, 1025,
		4095, 4096, 4097, 65535, 65536, 65537, 1<<20+5)
	for range 8 {
		lengths = append(lengths, 301+r.IntN(20_000))
	}
	return lengths
}

// TestMaskReference checks Mask and every routine it may run
// ([frame.MaskImpls]: the portable Go one and, on amd64, the SSE2 and
// AVX2 assembly) against the byte loop, for every key phase and every
// alignment of the slice within a cache line. Since the Go routine is
// among them, the assembly matches it too. Guard bytes on both sides of
// the slice must not change.
func TestMaskReference(t *testing.T) {
	impls := append([]frame.MaskImpl{{Name: "Mask", Fn: frame.Mask}}, frame.MaskImpls...)
	r := rand.New(rand.NewPCG(1, 2))
	const guard = 64
	for _, n := range maskLengths(r) {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			src := randBytes(r, n)
			pristine := randBytes(r, guard+63+n+guard)
			buf := make([]byte, len(pristine))
			for pos := range 4 {
				key := randKey(r)
				want := bytes.Clone(src)
				wantPos := maskRef(key, pos, want)
				for off := range 64 {
					start := guard + off
					for _, impl := range impls {
						copy(buf[:start], pristine)
						copy(buf[start:], src)
						copy(buf[start+n:], pristine[start+n:])
						gotPos := impl.Fn(key, pos, buf[start:start+n])
						if got := buf[start : start+n]; !bytes.Equal(want, got) {
							i := firstDiff(want, got)
							t.Fatalf("%s pos %d offset %d: byte %d is %#02x, want %#02x",
								impl.Name, pos, off, i, buf[start+i], want[i])
						}
						if !bytes.Equal(pristine[:start], buf[:start]) || !bytes.Equal(pristine[start+n:], buf[start+n:]) {
							t.Fatalf("%s pos %d offset %d: wrote outside the slice", impl.Name, pos, off)
						}
						if gotPos != wantPos {
							t.Fatalf("%s pos %d offset %d: returned %d, want %d", impl.Name, pos, off, gotPos, wantPos)
						}
					}
				}
			}
		})
	}
}

// firstDiff returns the index of the first byte where a and b, of equal
// length, differ. Unlike a failed assert.Equal, it does not print a
// megabyte.
func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// TestMaskPhase checks that a pos outside 0..3 means the same phase as
// pos mod 4, as a caller adding up lengths might pass.
func TestMaskPhase(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	key := randKey(r)
	src := randBytes(r, 50)
	for pos := range 16 {
		want := bytes.Clone(src)
		wantPos := maskRef(key, pos%4, want)
		got := bytes.Clone(src)
		gotPos := frame.Mask(key, pos, got)
		assert.Equal(t, want, got, "pos %d", pos)
		assert.Equal(t, wantPos, gotPos, "pos %d", pos)
	}
}

// TestMaskChunked masks payloads in random chunks, carrying the returned
// position, and compares with one call over the whole payload.
func TestMaskChunked(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 200 {
		n := r.IntN(3000)
		if i%10 == 0 {
			n = r.IntN(200_000)
		}
		key := randKey(r)
		src := randBytes(r, n)

		oneShot := bytes.Clone(src)
		frame.Mask(key, 0, oneShot)

		chunked := bytes.Clone(src)
		pos := 0
		for rest := chunked; len(rest) > 0; {
			k := min(len(rest), r.IntN(70))
			if r.IntN(20) == 0 {
				k = min(len(rest), r.IntN(5000))
			}
			pos = frame.Mask(key, pos, rest[:k])
			rest = rest[k:]
		}
		require.Equal(t, oneShot, chunked, "payload %d of %d bytes", i, n)
		assert.Equal(t, n%4, pos, "payload %d of %d bytes", i, n)
	}
}

// TestMaskTwice checks that masking is its own inverse (RFC 6455 §5.3:
// "the same algorithm applies regardless of the direction").
func TestMaskTwice(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 7, 8, 31, 32, 33, 125, 4096, 65537} {
		for pos := range 4 {
			key := randKey(r)
			src := randBytes(r, n)
			b := bytes.Clone(src)
			frame.Mask(key, pos, b)
			frame.Mask(key, pos, b)
			assert.Equal(t, src, b, "%d bytes pos %d", n, pos)
		}
	}
}

func TestMaskAllocs(t *testing.T) {
	b := make([]byte, 70_000)
	key := [4]byte{1, 2, 3, 4}
	pos := 0
	allocs := testing.AllocsPerRun(100, func() {
		pos = frame.Mask(key, pos, b[1:])
		pos = frame.Mask(key, pos, b[:5])
	})
	require.Zero(t, allocs)
}
