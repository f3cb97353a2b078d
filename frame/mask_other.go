//go:build !amd64

package frame

// mask is Mask on architectures without assembly.
func mask(key [4]byte, pos int, b []byte) int {
	return maskGeneric(key, pos, b)
}
