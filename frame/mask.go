package frame

import "encoding/binary"

// Mask XORs b in place with key, as RFC 6455 §5.3 masks and unmasks
// payloads, starting at byte pos of the key's 4-byte cycle. It returns the
// position after b, so a payload processed in chunks of any size gives the
// same bytes as in one call:
//
//	pos := 0
//	for chunk := range chunks {
//		pos = frame.Mask(key, pos, chunk)
//	}
//
// Mask does not allocate.
func Mask(key [4]byte, pos int, b []byte) int {
	return mask(key, pos, b)
}

// maskGeneric is Mask in portable Go: what architectures without assembly
// run, and the reference the assembly is tested against.
func maskGeneric(key [4]byte, pos int, b []byte) int {
	pos &= 3
	n := len(b)
	if n < 8 {
		for i := range b {
			b[i] ^= key[(pos+i)&3]
		}
		return (pos + n) & 3
	}
	// Rotate the key so that word-wide XORs start at byte 0 of b.
	k := binary.LittleEndian.Uint32(key[:])
	k = k>>(8*pos) | k<<(32-8*pos)
	k64 := uint64(k) | uint64(k)<<32
	i := 0
	for ; i+32 <= n; i += 32 {
		s := b[i : i+32 : i+32]
		binary.LittleEndian.PutUint64(s[0:], binary.LittleEndian.Uint64(s[0:])^k64)
		binary.LittleEndian.PutUint64(s[8:], binary.LittleEndian.Uint64(s[8:])^k64)
		binary.LittleEndian.PutUint64(s[16:], binary.LittleEndian.Uint64(s[16:])^k64)
		binary.LittleEndian.PutUint64(s[24:], binary.LittleEndian.Uint64(s[24:])^k64)
	}
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k64)
	}
	// Every word was a multiple of 4 bytes, so the key phase is still pos.
	for ; i < n; i++ {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + n) & 3
}
