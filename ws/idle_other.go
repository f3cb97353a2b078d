//go:build !linux

package ws

// Elsewhere a Conn keeps its read buffer while idle.
const canPeek = false

func wouldBlock(uintptr) bool { return false }
