package frame

import "encoding/binary"

// Masking on amd64 is in assembly (mask_amd64.s). BenchmarkMaskImpls and
// BenchmarkCopy on a shared 2-core Xeon VM (Sapphire Rapids), buffer at
// an odd address, medians of 6 runs in GB/s:
//
//	          maskGeneric   SSE2   AVX2   copy
//	1 KiB          17         48     61    105
//	4 KiB          18         61    102    154
//	64 KiB         19         52     51     46
//	1 MiB          19         49     54     56
//
// copy moves between two buffers, so from 64 KiB on it touches twice the
// memory that masking does. SSE2 is on every amd64 CPU, so it runs where
// AVX2 is missing. AVX2 doubles the vector width, which pays while b
// fits in the L1 cache (1.7 times SSE2 at 4 KiB), where most frames are,
// and ties once memory bandwidth is the limit.
//
// Every length goes to the assembly, so that Mask inlines into its
// callers and costs them one call. Its 8-, 4-, 2- and 1-byte steps mask
// 4 to 15 bytes in 2.4 to 3 ns, where the byte loop of maskGeneric takes
// 2.5 to 7 ns; 1 to 3 bytes cost 2 to 2.6 ns either way.

// useAVX2 reports whether the CPU and the OS support AVX2, checked once
// because CPUID is slow (and a VM exit under some hypervisors).
var useAVX2 = hasAVX2()

// mask is Mask, small enough to inline: a single call of the assembly.
func mask(key [4]byte, pos int, b []byte) int {
	maskAsm(b, binary.LittleEndian.Uint32(key[:]), pos)
	return (pos + len(b)) & 3
}

// maskAsm XORs b with copies of key, read as a little-endian word,
// starting at its byte pos&3, as Mask does: by maskAVX2 if useAVX2 is set
// and by maskSSE2 otherwise.
//
//go:noescape
func maskAsm(b []byte, key uint32, pos int)

// maskSSE2 is maskAsm using SSE2, which every amd64 CPU has.
//
//go:noescape
func maskSSE2(b []byte, key uint32, pos int)

// maskAVX2 is maskAsm using AVX2. It needs hasAVX2.
//
//go:noescape
func maskAVX2(b []byte, key uint32, pos int)

// hasAVX2 reports whether AVX2 instructions may run: the CPU has them
// (CPUID leaf 7) and the OS saves the YMM registers on a context switch
// (OSXSAVE, then XCR0 bits 1 and 2 for the XMM and YMM state).
func hasAVX2() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	const osxsave, avx = 1 << 27, 1 << 28
	if _, _, ecx, _ := cpuid(1, 0); ecx&(osxsave|avx) != osxsave|avx {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return false
	}
	const avx2 = 1 << 5
	_, ebx, _, _ := cpuid(7, 0)
	return ebx&avx2 != 0
}

// cpuid executes CPUID with EAX=leaf and ECX=sub.
func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

// xgetbv returns extended control register 0 (XCR0). It needs OSXSAVE.
func xgetbv() (eax, edx uint32)
