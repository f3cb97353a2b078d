package ws

import (
	"syscall"
	"unsafe"
)

const canPeek = true

// wouldBlock reports whether a read from socket fd would wait: a peek at
// one byte that does not block finds nothing yet. Any other outcome (a
// byte, the end of the stream, an error) is for the next read to find.
func wouldBlock(fd uintptr) bool {
	var b byte
	_, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b)), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	return errno == syscall.EAGAIN
}
