//go:build !amd64

package frame

// A MaskImpl is a masking routine with the signature and semantics of
// Mask.
type MaskImpl struct {
	Name string
	Fn   func(key [4]byte, pos int, b []byte) int
}

// MaskImpls are the masking routines of this build, so that tests and
// FuzzMask check each one.
var MaskImpls = []MaskImpl{{"generic", maskGeneric}}
