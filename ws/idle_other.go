//go:build !linux

package ws

// Elsewhere a Conn keeps its read buffer while idle.
const canWaitIdle = false

func readFD(uintptr, []byte) (int, error) { panic("unreachable") }
