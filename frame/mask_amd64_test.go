package frame

import "encoding/binary"

// A MaskImpl is a masking routine with the signature and semantics of
// Mask.
type MaskImpl struct {
	Name string
	Fn   func(key [4]byte, pos int, b []byte) int
}

// MaskImpls are the masking routines of this build that run on this CPU,
// so that tests and FuzzMask check each one, whichever Mask picks.
var MaskImpls = maskImpls()

func maskImpls() []MaskImpl {
	impls := []MaskImpl{
		{"generic", maskGeneric},
		{"sse2", maskVia(maskSSE2)},
	}
	if useAVX2 {
		impls = append(impls, MaskImpl{"avx2", maskVia(maskAVX2)})
	}
	return impls
}

// maskVia gives an assembly routine the signature of Mask.
func maskVia(asm func(b []byte, key uint32, pos int)) func([4]byte, int, []byte) int {
	return func(key [4]byte, pos int, b []byte) int {
		asm(b, binary.LittleEndian.Uint32(key[:]), pos)
		return (pos + len(b)) & 3
	}
}
